"""Unit tests of the sans-IO y-websocket frame codec: bytes in, bytes out."""

from __future__ import annotations

import json
from typing import Any

import pycrdt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.sync.protocol import (
    EMPTY_UPDATE,
    MAX_AWARENESS_ENTRIES,
    MAX_VAR_UINT,
    MESSAGE_CARNET,
    AwarenessEntry,
    AwarenessMessage,
    Message,
    PermissionDenied,
    ProtocolError,
    QueryAwareness,
    Saved,
    SaveDelayed,
    Status,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode,
    decode_awareness,
    encode,
    encode_awareness,
    encode_awareness_message,
    encode_sync_step1,
    encode_sync_step2,
    encode_sync_update,
    encode_var_string,
    encode_var_uint,
    is_empty_update,
)


def _text_update(text: str) -> tuple[pycrdt.Doc[Any], bytes]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc["t"] = ytext = pycrdt.Text()
    ytext += text
    return doc, doc.get_update()


# A sample of every message type, including multi-byte lengths and values.
ALL_MESSAGES: list[Message] = [
    SyncStep1(b"\x00"),
    SyncStep1(b""),
    SyncStep2(EMPTY_UPDATE),
    SyncStep2(b"\x01" * 300),
    SyncUpdate(_text_update("bonjour")[1]),
    SyncUpdate(b"x" * 20_000),
    AwarenessMessage(b"\x00"),
    AwarenessMessage(encode_awareness([AwarenessEntry(1, 2, '{"name":"Zoé"}')])),
    PermissionDenied("read-only"),
    PermissionDenied(""),
    QueryAwareness(),
    Saved(0, 0),
    Saved(12, 2**40),
    Saved(MAX_VAR_UINT, 1),
    SaveDelayed(3),
    SaveDelayed(200),
    Status("read-only", "Ce carnet est en lecture seule."),
    Status("", "é" * 100),
]


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=repr)
def test_round_trip(message: Message) -> None:
    frame = encode(message)
    assert isinstance(frame, bytes)
    assert decode(frame) == message
    assert type(decode(frame)) is type(message)
    assert encode(decode(frame)) == frame


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=repr)
def test_decode_accepts_bytearray_and_memoryview(message: Message) -> None:
    frame = encode(message)
    assert decode(bytearray(frame)) == message
    assert decode(memoryview(frame)) == message
    # a memoryview slice of a larger buffer
    assert decode(memoryview(b"??" + frame + b"??")[2:-2]) == message
    for field in ("state_vector", "update", "payload"):
        value = getattr(decode(memoryview(frame)), field, b"")
        assert type(value) is bytes


def test_messages_are_frozen() -> None:
    message = SyncUpdate(b"\x00\x00")
    with pytest.raises(AttributeError):
        message.update = b""  # type: ignore[misc]
    assert hash(Saved(1, 2)) == hash(Saved(1, 2))
    assert QueryAwareness() == QueryAwareness()


def test_fast_helpers_match_encode() -> None:
    for payload in (b"", b"\x00\x00", b"a" * 127, b"b" * 128, b"c" * 70_000):
        assert encode_sync_step1(payload) == encode(SyncStep1(payload))
        assert encode_sync_step2(payload) == encode(SyncStep2(payload))
        assert encode_sync_update(payload) == encode(SyncUpdate(payload))
        assert encode_awareness_message(payload) == encode(AwarenessMessage(payload))


# --------------------------------------------------------------------------- exact bytes


def test_sync_step1_of_empty_doc() -> None:
    state = pycrdt.Doc().get_state()
    assert state == b"\x00"
    assert encode(SyncStep1(state)) == b"\x00\x00\x01\x00"
    assert decode(b"\x00\x00\x01\x00") == SyncStep1(b"\x00")


def test_known_frames() -> None:
    assert encode(SyncStep2(EMPTY_UPDATE)) == b"\x00\x01\x02\x00\x00"
    assert encode(SyncUpdate(b"\xaa")) == b"\x00\x02\x01\xaa"
    assert encode(AwarenessMessage(b"\x00")) == b"\x01\x01\x00"
    assert encode(PermissionDenied("no")) == b"\x02\x00\x02no"
    assert encode(QueryAwareness()) == b"\x03"
    assert encode(Saved(1, 300)) == bytes([100, 0, 1, 0xAC, 0x02])
    assert encode(SaveDelayed(5)) == bytes([100, 1, 5])
    assert encode(Status("ro", "x")) == bytes([100, 2, 2]) + b"ro" + b"\x01x"
    assert MESSAGE_CARNET == 100


def test_var_string_uses_utf8_byte_length() -> None:
    # "café" is 4 characters but 5 UTF-8 bytes; pycrdt's Encoder would write 4.
    assert encode_var_string("café") == b"\x05caf\xc3\xa9"
    assert encode(PermissionDenied("café")) == b"\x02\x00\x05caf\xc3\xa9"
    assert decode(b"\x02\x00\x05caf\xc3\xa9") == PermissionDenied("café")
    emoji = "🙂" * 40  # 160 bytes: a two-byte length
    frame = encode(Status("e", emoji))
    assert frame[4:6] == b"\xa0\x01"
    assert decode(frame) == Status("e", emoji)


def test_frames_agree_with_pycrdt() -> None:
    doc, update = _text_update("hello")
    assert encode(SyncStep1(doc.get_state())) == pycrdt.create_sync_message(doc)
    assert encode(SyncUpdate(update)) == pycrdt.create_update_message(update)
    awareness = pycrdt.Awareness(doc)
    awareness.set_local_state({"user": {"name": "Ann"}})
    payload = awareness.encode_awareness_update([doc.client_id])
    assert encode(AwarenessMessage(payload)) == pycrdt.create_awareness_message(payload)
    [entry] = decode_awareness(payload)
    assert entry.client_id == doc.client_id
    assert entry.state == '{"user":{"name":"Ann"}}'
    assert not entry.removed
    assert encode_awareness([entry]) == payload


# --------------------------------------------------------------------------- real updates


def test_real_pycrdt_update_round_trip() -> None:
    source, _ = _text_update("")
    updates: list[bytes] = []
    source.observe(lambda event: updates.append(event.update))
    text = source["t"]
    assert isinstance(text, pycrdt.Text)
    text += "Bonjour, "
    text += "Zoé ! 🙂"
    del text[0:3]
    target: pycrdt.Doc[Any] = pycrdt.Doc()
    target.apply_update(source.get_update(target.get_state()))  # creates "t"
    target_text = target.get("t", type=pycrdt.Text)
    full = source.get_update()
    for update in [*updates, full]:
        frame = encode(SyncUpdate(update))
        message = decode(frame)
        assert isinstance(message, SyncUpdate)
        assert message.update == update
        target.apply_update(message.update)
    assert str(target_text) == str(text) == "jour, Zoé ! 🙂"


def test_sync_step1_step2_exchange() -> None:
    server, _ = _text_update("server text")
    client: pycrdt.Doc[Any] = pycrdt.Doc()
    step1 = decode(encode(SyncStep1(client.get_state())))
    assert isinstance(step1, SyncStep1)
    step2 = decode(encode(SyncStep2(server.get_update(step1.state_vector))))
    assert isinstance(step2, SyncStep2)
    client.apply_update(step2.update)
    assert str(client.get("t", type=pycrdt.Text)) == "server text"
    # Nothing left to send: the answer is the empty update.
    answer = server.get_update(client.get_state())
    assert is_empty_update(answer)


def test_is_empty_update() -> None:
    assert is_empty_update(EMPTY_UPDATE)
    assert is_empty_update(bytearray(b"\x00\x00"))
    assert is_empty_update(memoryview(b"\x00\x00"))
    assert is_empty_update(pycrdt.Doc().get_update())
    # a delete-set client listed with zero ranges, a struct group with zero structs
    assert is_empty_update(b"\x00\x01\x05\x00")
    assert is_empty_update(b"\x01\x00\x05\x00\x00")
    assert not is_empty_update(_text_update("x")[1])
    assert not is_empty_update(b"")
    assert not is_empty_update(b"\x00")
    assert not is_empty_update(b"\x00\x00\x00")
    assert not is_empty_update(b"\x00\x01\x05\x01\x00\x01")
    assert not is_empty_update(b"\xff\xff")


# --------------------------------------------------------------------------- varUint


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (1, b"\x01"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (300, b"\xac\x02"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2**32 - 1, b"\xff\xff\xff\xff\x0f"),
        (MAX_VAR_UINT, b"\xff\xff\xff\xff\xff\xff\xff\x0f"),
    ],
)
def test_var_uint(value: int, encoded: bytes) -> None:
    assert encode_var_uint(value) == encoded
    frame = bytes([100, 1]) + encoded
    assert decode(frame) == SaveDelayed(value)
    assert encode(SaveDelayed(value)) == frame


def test_var_uint_max_is_eight_bytes() -> None:
    assert len(encode_var_uint(MAX_VAR_UINT)) == 8


@pytest.mark.parametrize(
    ("encoded", "error"),
    [
        (b"\x80\x80\x80\x80\x80\x80\x80\x10", "varUint too large"),  # 2**53
        (b"\xff\xff\xff\xff\xff\xff\xff\x7f", "varUint too large"),  # 2**56 - 1
        (b"\x80\x80\x80\x80\x80\x80\x80\x80\x01", "varUint too long"),  # 9 bytes
        (b"\x81\x80\x80\x80\x80\x80\x80\x80\x00", "varUint too long"),
        (b"\xff" * 20, "varUint too long"),
        (b"\x80", "truncated varUint"),
        (b"\xff\xff", "truncated varUint"),
        (b"\x80\x00", "overlong varUint"),  # 0 written on two bytes
        (b"\xff\x80\x00", "overlong varUint"),
    ],
)
def test_bad_var_uint(encoded: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        decode(bytes([100, 1]) + encoded)
    # the same rule applies to lengths and to the message type itself
    with pytest.raises(ProtocolError, match=error):
        decode(b"\x00\x02" + encoded)
    with pytest.raises(ProtocolError, match=error):
        decode(encoded)


def test_encode_var_uint_out_of_range() -> None:
    for value in (-1, MAX_VAR_UINT + 1, 2**64):
        with pytest.raises(ValueError, match="out of range"):
            encode_var_uint(value)
    with pytest.raises(ValueError, match="out of range"):
        encode(Saved(-1, 0))
    with pytest.raises(ValueError, match="out of range"):
        encode(SaveDelayed(2**53))


def test_encode_unencodable_string() -> None:
    with pytest.raises(ValueError, match="UTF-8"):
        encode(PermissionDenied("\ud800"))


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=repr)
def test_every_truncation_is_rejected(message: Message) -> None:
    frame = encode(message)
    for cut in range(len(frame)):
        with pytest.raises(ProtocolError, match=r"truncated|empty frame"):
            decode(frame[:cut])


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=repr)
def test_trailing_bytes_are_rejected(message: Message) -> None:
    frame = encode(message)
    for extra in (b"\x00", b"\xff", b"\x00\x02\x01\x00"):
        with pytest.raises(ProtocolError, match="trailing bytes"):
            decode(frame + extra)


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"", "empty frame"),
        (b"\x09", "unknown message type 9"),
        (b"\x04\x00", "unknown message type 4"),
        (b"\x80\x01", "unknown message type 128"),
        (b"\x00\x03\x00", "unknown sync message type 3"),
        (b"\x00\x80\x01\x00", "unknown sync message type 128"),
        (b"\x02\x01\x00", "unknown auth message type 1"),
        (bytes([100, 3]), "unknown carnet message type 3"),
        (bytes([100, 0x80, 0x01]), "unknown carnet message type 128"),
        (b"\x00", "truncated sync message"),
        (b"\x00\x02\x05abc", "truncated varUint8Array"),
        (b"\x02\x00\x05abc", "truncated varString"),
    ],
)
def test_malformed_frames(frame: bytes, error: str) -> None:
    with pytest.raises(ProtocolError, match=error):
        decode(frame)


@pytest.mark.parametrize(
    "bad",
    [
        b"\xff",  # never valid in UTF-8
        b"\xc3",  # truncated sequence
        b"\xc3\x28",  # bad continuation byte
        b"\xc0\xaf",  # overlong "/"
        b"\xed\xa0\x80",  # UTF-16 surrogate
        b"\xf4\x90\x80\x80",  # above U+10FFFF
    ],
)
def test_invalid_utf8(bad: bytes) -> None:
    field = bytes([len(bad)]) + bad
    with pytest.raises(ProtocolError, match="invalid UTF-8"):
        decode(b"\x02\x00" + field)
    with pytest.raises(ProtocolError, match="invalid UTF-8"):
        decode(bytes([100, 2]) + field + b"\x00")
    with pytest.raises(ProtocolError, match="invalid UTF-8"):
        decode(bytes([100, 2, 0]) + field)
    with pytest.raises(ProtocolError, match="invalid UTF-8"):
        decode_awareness(b"\x01\x01\x01" + field)


def test_protocol_error_is_value_error() -> None:
    assert issubclass(ProtocolError, ValueError)


# --------------------------------------------------------------------------- awareness


def test_awareness_round_trip() -> None:
    entries = [
        AwarenessEntry(1, 0, '{"user":{"name":"Zoé","color":"#ff0000"}}'),
        AwarenessEntry(2**32 - 1, 300, "null"),
        AwarenessEntry(MAX_VAR_UINT, MAX_VAR_UINT, "[1, 2.5, true, null]"),
        AwarenessEntry(7, 1, '"\\ud800"'),  # JSON.stringify writes lone surrogates so
        AwarenessEntry(8, 1, "1e400"),  # valid JSON text, out of float range
    ]
    payload = encode_awareness(entries)
    assert decode_awareness(payload) == entries
    assert decode_awareness(memoryview(payload)) == entries
    assert decode_awareness(bytearray(payload)) == entries
    assert encode_awareness(decode_awareness(payload)) == payload
    message = decode(encode(AwarenessMessage(payload)))
    assert isinstance(message, AwarenessMessage)
    assert decode_awareness(message.payload) == entries


def test_awareness_exact_bytes() -> None:
    assert encode_awareness([]) == b"\x00"
    assert decode_awareness(b"\x00") == []
    removed = AwarenessEntry(5, 2, "null")
    assert encode_awareness([removed]) == b"\x01\x05\x02\x04null"
    assert decode_awareness(b"\x01\x05\x02\x04null") == [removed]
    assert encode_awareness([AwarenessEntry(1, 1, '"é"')]) == b'\x01\x01\x01\x04"\xc3\xa9"'


def test_awareness_removed() -> None:
    assert AwarenessEntry(1, 1, "null").removed
    assert AwarenessEntry(1, 1, " null\n").removed
    assert not AwarenessEntry(1, 1, "{}").removed
    assert not AwarenessEntry(1, 1, '"null"').removed


@pytest.mark.parametrize(
    "state",
    ["", "{", "nul", "{'a': 1}", "NaN", "-Infinity", "[1,]", "{} {}", "undefined", "[" * 100_000],
)
def test_awareness_bad_json(state: str) -> None:
    payload = encode_awareness([AwarenessEntry(1, 1, state)])
    with pytest.raises(ProtocolError, match="not valid JSON"):
        decode_awareness(payload)


def test_awareness_malformed() -> None:
    payload = encode_awareness([AwarenessEntry(1, 1, "{}"), AwarenessEntry(2, 3, "null")])
    for cut in range(len(payload)):
        with pytest.raises(ProtocolError, match="truncated"):
            decode_awareness(payload[:cut])
    with pytest.raises(ProtocolError, match="trailing bytes"):
        decode_awareness(payload + b"\x00")
    with pytest.raises(ProtocolError, match="too many awareness entries"):
        decode_awareness(encode_var_uint(MAX_AWARENESS_ENTRIES + 1))
    with pytest.raises(ProtocolError, match="too large"):
        decode_awareness(b"\x01\x80\x80\x80\x80\x80\x80\x80\x10\x00\x04null")


def test_awareness_entry_cap() -> None:
    entries = [AwarenessEntry(i, 0, "null") for i in range(MAX_AWARENESS_ENTRIES)]
    assert decode_awareness(encode_awareness(entries)) == entries
    with pytest.raises(ValueError, match="too many awareness entries"):
        encode_awareness([*entries, AwarenessEntry(0, 0, "null")])


# --------------------------------------------------------------------------- properties


@given(st.binary(max_size=64))
def test_decode_arbitrary_bytes(frame: bytes) -> None:
    try:
        message = decode(frame)
    except ProtocolError:
        return
    assert encode(message) == frame


_PREFIXES = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01", b"\x02\x00", b"\x03"]
_PREFIXES += [bytes([100, sub]) for sub in range(4)]


@given(st.sampled_from(_PREFIXES), st.binary(max_size=48))
def test_decode_bytes_with_valid_prefix(prefix: bytes, rest: bytes) -> None:
    frame = prefix + rest
    try:
        message = decode(frame)
    except ProtocolError:
        return
    assert encode(message) == frame


@given(st.binary(max_size=64))
def test_decode_awareness_arbitrary_bytes(payload: bytes) -> None:
    try:
        entries = decode_awareness(payload)
    except ProtocolError:
        return
    assert encode_awareness(entries) == payload


_uints = st.integers(min_value=0, max_value=MAX_VAR_UINT)
_messages = st.one_of(
    st.builds(SyncStep1, st.binary()),
    st.builds(SyncStep2, st.binary()),
    st.builds(SyncUpdate, st.binary(max_size=400)),
    st.builds(AwarenessMessage, st.binary()),
    st.builds(PermissionDenied, st.text()),
    st.just(QueryAwareness()),
    st.builds(Saved, _uints, _uints),
    st.builds(SaveDelayed, _uints),
    st.builds(Status, st.text(), st.text()),
)


@given(_messages)
def test_encode_decode_property(message: Message) -> None:
    assert decode(encode(message)) == message


@given(
    st.lists(
        st.builds(
            AwarenessEntry,
            _uints,
            _uints,
            st.one_of(
                st.just("null"),
                st.dictionaries(st.text(), st.integers() | st.text()).map(
                    lambda d: json.dumps(d, ensure_ascii=False)
                ),
            ),
        ),
        max_size=5,
    )
)
def test_awareness_property(entries: list[AwarenessEntry]) -> None:
    assert decode_awareness(encode_awareness(entries)) == entries
