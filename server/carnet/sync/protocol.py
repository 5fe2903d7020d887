"""Sans-IO codec for y-websocket frames, plus Carnet's extension messages.

Wire format (one message per binary WebSocket frame, lib0 encoding)::

    varUint    LEB128 unsigned: 7 bits a byte, low bits first, high bit = "more"
    varUint8Array = varUint byte length + bytes
    varString     = varUint UTF-8 *byte* length + UTF-8 bytes

    0 sync       0 varUint8Array(state vector)    SyncStep1
                 1 varUint8Array(update)          SyncStep2
                 2 varUint8Array(update)          SyncUpdate
    1 awareness  varUint8Array(awareness update)  AwarenessMessage
    2 auth       0 varString(reason)              PermissionDenied
    3 query awareness (no payload)                QueryAwareness
    100 carnet   0 varUint(count) varUint(seq)    Saved
                 1 varUint(unsaved)               SaveDelayed
                 2 varString(code) varString(detail)  Status

Type 100 is Carnet's own extension. Standard y-websocket clients do not know it:
they log "Unable to compute message" and carry on, so the connection does not
break and sending these messages to any client is safe.

The awareness update inside a type-1 frame is ``varUint n`` then, per client,
``varUint clientID``, ``varUint clock`` and the JSON state as a varString
(``"null"`` means the client was removed); see :func:`decode_awareness`.

Decoding is strict: every frame must be consumed exactly, varUints must be
minimal (no overlong encodings), at most 8 bytes long and at most 2**53-1, and
strings must be valid UTF-8. Every malformed input raises :class:`ProtocolError`
(a :class:`ValueError`), never ``IndexError`` or ``UnicodeDecodeError``. Because
of this strictness, a decoded frame always re-encodes to exactly the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Final, NoReturn, TypeAlias, assert_never

import msgspec

__all__ = [
    "EMPTY_UPDATE",
    "MAX_AWARENESS_ENTRIES",
    "MAX_VAR_UINT",
    "MESSAGE_AUTH",
    "MESSAGE_AWARENESS",
    "MESSAGE_CARNET",
    "MESSAGE_QUERY_AWARENESS",
    "MESSAGE_SYNC",
    "AwarenessEntry",
    "AwarenessMessage",
    "Message",
    "PermissionDenied",
    "ProtocolError",
    "QueryAwareness",
    "SaveDelayed",
    "Saved",
    "Status",
    "SyncStep1",
    "SyncStep2",
    "SyncUpdate",
    "decode",
    "decode_awareness",
    "decode_state_vector",
    "delete_set_ranges",
    "encode",
    "encode_awareness",
    "encode_awareness_message",
    "encode_sync_step1",
    "encode_sync_step2",
    "encode_sync_update",
    "encode_var_string",
    "encode_var_uint",
    "is_empty_update",
    "update_has_structs",
]

# Top-level message types.
MESSAGE_SYNC: Final = 0
MESSAGE_AWARENESS: Final = 1
MESSAGE_AUTH: Final = 2
MESSAGE_QUERY_AWARENESS: Final = 3
MESSAGE_CARNET: Final = 100

# Sync subtypes (y-protocols/sync).
SYNC_STEP1: Final = 0
SYNC_STEP2: Final = 1
SYNC_UPDATE: Final = 2

# Auth subtypes (y-protocols/auth).
AUTH_PERMISSION_DENIED: Final = 0

# Carnet subtypes.
CARNET_SAVED: Final = 0
CARNET_SAVE_DELAYED: Final = 1
CARNET_STATUS: Final = 2

MAX_VAR_UINT: Final = 2**53 - 1
"""Largest varUint accepted (JavaScript's Number.MAX_SAFE_INTEGER)."""

MAX_AWARENESS_ENTRIES: Final = 10_000
"""Largest number of client entries accepted in one awareness update."""

EMPTY_UPDATE: Final = b"\x00\x00"
"""The empty Yjs v1 update: no struct groups and an empty delete set."""


class ProtocolError(ValueError):
    """A frame or payload is malformed; the message says what is wrong."""


# --------------------------------------------------------------------------- messages


class SyncStep1(msgspec.Struct, frozen=True, gc=False):
    """``0, 0, varUint8Array``: the sender's state vector."""

    state_vector: bytes


class SyncStep2(msgspec.Struct, frozen=True, gc=False):
    """``0, 1, varUint8Array``: the update answering a SyncStep1."""

    update: bytes


class SyncUpdate(msgspec.Struct, frozen=True, gc=False):
    """``0, 2, varUint8Array``: an incremental document update."""

    update: bytes


class AwarenessMessage(msgspec.Struct, frozen=True, gc=False):
    """``1, varUint8Array``: a raw awareness update (see :func:`decode_awareness`)."""

    payload: bytes


class PermissionDenied(msgspec.Struct, frozen=True, gc=False):
    """``2, 0, varString``: the server refuses the client's content."""

    reason: str


class QueryAwareness(msgspec.Struct, frozen=True, gc=False):
    """``3``: asks the peer to send all its awareness states."""


class Saved(msgspec.Struct, frozen=True, gc=False):
    """``100, 0, varUint count, varUint seq``.

    ``count`` is the cumulative number of update frames of *this* connection
    that are durably stored; ``seq`` is the note's latest stored sequence number.
    """

    count: int
    seq: int


class SaveDelayed(msgspec.Struct, frozen=True, gc=False):
    """``100, 1, varUint unsaved``.

    Storage is unreachable: this connection has ``unsaved`` updates held in
    memory and retried.
    """

    unsaved: int


class Status(msgspec.Struct, frozen=True, gc=False):
    """``100, 2, varString code, varString detail``: a notice such as read-only."""

    code: str
    detail: str


Message: TypeAlias = (
    SyncStep1
    | SyncStep2
    | SyncUpdate
    | AwarenessMessage
    | PermissionDenied
    | QueryAwareness
    | Saved
    | SaveDelayed
    | Status
)


class AwarenessEntry(msgspec.Struct, frozen=True, gc=False):
    """One client's entry in an awareness update; ``state`` is JSON text."""

    client_id: int
    clock: int
    state: str

    @property
    def removed(self) -> bool:
        """True when the state is JSON ``null`` (the client left)."""
        return self.state == "null" or self.state.strip(" \t\n\r") == "null"


# --------------------------------------------------------------------------- reading


def _truncated(what: str) -> NoReturn:
    raise ProtocolError(f"truncated {what}")


def _read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    """Read a varUint at ``pos``; return ``(value, position after it)``."""
    try:
        b = buf[pos]
    except IndexError:
        _truncated("varUint")
    if b < 0x80:
        return b, pos + 1
    value = b & 0x7F
    shift = 7
    pos += 1
    end = len(buf)
    while True:
        if pos >= end:
            _truncated("varUint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            if b == 0:
                raise ProtocolError("overlong varUint")
            break
        shift += 7
        if shift >= 56:  # an 8th byte with the continuation bit set
            raise ProtocolError("varUint too long")
    if value > MAX_VAR_UINT:
        raise ProtocolError("varUint too large")
    return value, pos


def _read_tail_bytes(buf: bytes, pos: int) -> bytes:
    """Read a varUint8Array that must end exactly at the end of ``buf``."""
    try:
        length = buf[pos]
    except IndexError:
        _truncated("varUint")
    if length < 0x80:
        pos += 1
    else:
        length, pos = _read_var_uint(buf, pos)
    end = pos + length
    size = len(buf)
    if end != size:
        if end > size:
            raise ProtocolError(f"truncated varUint8Array: need {length} bytes, have {size - pos}")
        raise ProtocolError(f"trailing bytes: {size - end} after the message")
    return buf[pos:]


def _read_string(buf: bytes, pos: int) -> tuple[str, int]:
    """Read a varString at ``pos``; return ``(text, position after it)``."""
    length, pos = _read_var_uint(buf, pos)
    end = pos + length
    if end > len(buf):
        raise ProtocolError(f"truncated varString: need {length} bytes, have {len(buf) - pos}")
    try:
        text = buf[pos:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"invalid UTF-8 in varString at byte {exc.start}") from None
    return text, end


def _check_end(buf: bytes, pos: int) -> None:
    if pos != len(buf):
        raise ProtocolError(f"trailing bytes: {len(buf) - pos} after the message")


def decode(frame: bytes | bytearray | memoryview) -> Message:
    """Decode one whole frame; raise :class:`ProtocolError` if it is malformed."""
    if type(frame) is not bytes:
        frame = bytes(frame)
    try:
        kind = frame[0]
    except IndexError:
        raise ProtocolError("empty frame") from None

    if kind == MESSAGE_SYNC:
        try:
            sub = frame[1]
        except IndexError:
            _truncated("sync message")
        if sub == SYNC_UPDATE:
            return SyncUpdate(_read_tail_bytes(frame, 2))
        if sub == SYNC_STEP1:
            return SyncStep1(_read_tail_bytes(frame, 2))
        if sub == SYNC_STEP2:
            return SyncStep2(_read_tail_bytes(frame, 2))
        sub, _ = _read_var_uint(frame, 1)
        raise ProtocolError(f"unknown sync message type {sub}")

    if kind == MESSAGE_AWARENESS:
        return AwarenessMessage(_read_tail_bytes(frame, 1))

    if kind == MESSAGE_AUTH:
        sub, pos = _read_var_uint(frame, 1)
        if sub != AUTH_PERMISSION_DENIED:
            raise ProtocolError(f"unknown auth message type {sub}")
        reason, pos = _read_string(frame, pos)
        _check_end(frame, pos)
        return PermissionDenied(reason)

    if kind == MESSAGE_QUERY_AWARENESS:
        _check_end(frame, 1)
        return QueryAwareness()

    if kind == MESSAGE_CARNET:
        sub, pos = _read_var_uint(frame, 1)
        message: Message
        if sub == CARNET_SAVED:
            count, pos = _read_var_uint(frame, pos)
            seq, pos = _read_var_uint(frame, pos)
            message = Saved(count, seq)
        elif sub == CARNET_SAVE_DELAYED:
            unsaved, pos = _read_var_uint(frame, pos)
            message = SaveDelayed(unsaved)
        elif sub == CARNET_STATUS:
            code, pos = _read_string(frame, pos)
            detail, pos = _read_string(frame, pos)
            message = Status(code, detail)
        else:
            raise ProtocolError(f"unknown carnet message type {sub}")
        _check_end(frame, pos)
        return message

    kind, _ = _read_var_uint(frame, 0)  # validates multi-byte types too
    raise ProtocolError(f"unknown message type {kind}")


# --------------------------------------------------------------------------- writing

_SMALL: Final = tuple(bytes((i,)) for i in range(128))


def encode_var_uint(value: int) -> bytes:
    """Encode a non-negative int up to 2**53-1 as a minimal varUint."""
    if 0 <= value < 0x80:
        return _SMALL[value]
    if value < 0 or value > MAX_VAR_UINT:
        raise ValueError(f"varUint out of range: {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _bytes_field(data: bytes) -> bytes:
    n = len(data)
    return (_SMALL[n] if n < 0x80 else encode_var_uint(n)) + data


def encode_var_string(text: str) -> bytes:
    """Encode a varString: UTF-8 byte length, then the UTF-8 bytes."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"string is not encodable as UTF-8: {exc.reason}") from None
    return _bytes_field(data)


def encode_sync_step1(state_vector: bytes) -> bytes:
    """Encode ``SyncStep1(state_vector)``."""
    return b"\x00\x00" + _bytes_field(state_vector)


def encode_sync_step2(update: bytes) -> bytes:
    """Encode ``SyncStep2(update)``."""
    return b"\x00\x01" + _bytes_field(update)


def encode_sync_update(update: bytes) -> bytes:
    """Encode ``SyncUpdate(update)``."""
    return b"\x00\x02" + _bytes_field(update)


def encode_awareness_message(payload: bytes) -> bytes:
    """Encode ``AwarenessMessage(payload)``."""
    return b"\x01" + _bytes_field(payload)


def encode(message: Message) -> bytes:
    """Encode one message as a frame; raise :class:`ValueError` on bad field values."""
    match message:
        case SyncUpdate(update=update):
            return b"\x00\x02" + _bytes_field(update)
        case AwarenessMessage(payload=payload):
            return b"\x01" + _bytes_field(payload)
        case SyncStep1(state_vector=state_vector):
            return b"\x00\x00" + _bytes_field(state_vector)
        case SyncStep2(update=update):
            return b"\x00\x01" + _bytes_field(update)
        case QueryAwareness():
            return b"\x03"
        case PermissionDenied(reason=reason):
            return b"\x02\x00" + encode_var_string(reason)
        case Saved(count=count, seq=seq):
            return b"\x64\x00" + encode_var_uint(count) + encode_var_uint(seq)
        case SaveDelayed(unsaved=unsaved):
            return b"\x64\x01" + encode_var_uint(unsaved)
        case Status(code=code, detail=detail):
            return b"\x64\x02" + encode_var_string(code) + encode_var_string(detail)
        case _:
            assert_never(message)


# --------------------------------------------------------------------------- awareness


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _check_json(text: str) -> None:
    """Raise ProtocolError unless ``text`` is one JSON value, as JSON.parse takes it."""
    try:
        msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        # msgspec refuses a few things JSON.parse accepts (lone surrogate escapes,
        # numbers beyond float range): let the stdlib parser decide.
        try:
            json.loads(text, parse_constant=_reject_constant, parse_int=str, parse_float=str)
        except (ValueError, RecursionError) as exc:
            raise ProtocolError(f"awareness state is not valid JSON: {exc}") from None


def decode_awareness(payload: bytes | bytearray | memoryview) -> list[AwarenessEntry]:
    """Decode an awareness update strictly into its entries.

    Each state must be valid JSON text; at most :data:`MAX_AWARENESS_ENTRIES`.
    """
    if type(payload) is not bytes:
        payload = bytes(payload)
    count, pos = _read_var_uint(payload, 0)
    if count > MAX_AWARENESS_ENTRIES:
        raise ProtocolError(f"too many awareness entries: {count}")
    entries: list[AwarenessEntry] = []
    for _ in range(count):
        client_id, pos = _read_var_uint(payload, pos)
        clock, pos = _read_var_uint(payload, pos)
        state, pos = _read_string(payload, pos)
        _check_json(state)
        entries.append(AwarenessEntry(client_id, clock, state))
    _check_end(payload, pos)
    return entries


def encode_awareness(entries: Iterable[AwarenessEntry]) -> bytes:
    """Encode entries as an awareness update (the payload of an AwarenessMessage).

    The states are written as given; they are not re-validated as JSON.
    """
    parts: list[bytes] = []
    for entry in entries:
        parts.append(encode_var_uint(entry.client_id))
        parts.append(encode_var_uint(entry.clock))
        parts.append(encode_var_string(entry.state))
    if len(parts) // 3 > MAX_AWARENESS_ENTRIES:
        raise ValueError(f"too many awareness entries: {len(parts) // 3}")
    return encode_var_uint(len(parts) // 3) + b"".join(parts)


# --------------------------------------------------------------------------- updates


def is_empty_update(update: bytes | bytearray | memoryview) -> bool:
    """True for an empty Yjs v1 update: no structs and no deleted ranges.

    The canonical form is :data:`EMPTY_UPDATE` (``00 00``); struct groups holding
    zero structs and delete-set clients holding zero ranges are also empty.
    Anything malformed is simply not empty.
    """
    if update == EMPTY_UPDATE:
        return True
    buf = bytes(update)
    try:
        groups, pos = _read_var_uint(buf, 0)
        for _ in range(groups):
            structs, pos = _read_var_uint(buf, pos)
            if structs:
                return False
            _, pos = _read_var_uint(buf, pos)  # client
            _, pos = _read_var_uint(buf, pos)  # clock
        clients, pos = _read_var_uint(buf, pos)
        for _ in range(clients):
            _, pos = _read_var_uint(buf, pos)  # client
            ranges, pos = _read_var_uint(buf, pos)
            if ranges:
                return False
    except ProtocolError:
        return False
    return pos == len(buf)


def update_has_structs(update: bytes) -> bool:
    """True when a v1 update inserts anything (it may otherwise only delete)."""
    groups, pos = _read_var_uint(update, 0)
    for _ in range(groups):
        structs, pos = _read_var_uint(update, pos)
        if structs:
            return True
        _, pos = _read_var_uint(update, pos)
        _, pos = _read_var_uint(update, pos)
    return False


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """A Yjs state vector: client id → the next clock expected from that client."""
    count, pos = _read_var_uint(state_vector, 0)
    clocks: dict[int, int] = {}
    for _ in range(count):
        client, pos = _read_var_uint(state_vector, pos)
        clock, pos = _read_var_uint(state_vector, pos)
        clocks[client] = clock
    _check_end(state_vector, pos)
    return clocks


def delete_set_ranges(update: bytes) -> list[tuple[int, int, int]]:
    """The deleted ranges ``(client, clock, length)`` of an update that inserts nothing."""
    groups, pos = _read_var_uint(update, 0)
    for _ in range(groups):
        structs, pos = _read_var_uint(update, pos)
        if structs:
            raise ProtocolError("update has structs")
        _, pos = _read_var_uint(update, pos)
        _, pos = _read_var_uint(update, pos)
    clients, pos = _read_var_uint(update, pos)
    ranges = []
    for _ in range(clients):
        client, pos = _read_var_uint(update, pos)
        count, pos = _read_var_uint(update, pos)
        for _ in range(count):
            clock, pos = _read_var_uint(update, pos)
            length, pos = _read_var_uint(update, pos)
            ranges.append((client, clock, length))
    _check_end(update, pos)
    return ranges
