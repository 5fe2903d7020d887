"""Hostile frames on a LIVE socket of a ``carnet serve`` process (issue 6).

Hypothesis sends random, truncated, oversized and well-formed-but-wrong frames
(valid frame types with garbage updates, awareness with bad JSON, huge varints,
auth and carnet messages that only the server may send, text frames) over fresh
editor connections to a note that a well-behaved writer edits meanwhile. For
each example the expected outcome is computed independently from the frame —
the strict codec, pycrdt on a copy of the room's document, and the rules of
docs/protocol.md — and the server must agree exactly: the connection stays
open (and answers the next SyncStep1) or is closed with the documented code.
At the end the writer's document is exactly what it wrote plus what was
accepted, the database rebuild equals it, and the server logged no error.

The Hypothesis run is seeded from ``CARNET_SEED`` (printed), so a failure
replays with ``CARNET_SEED=<seed>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from typing import Any

import hypothesis
import pycrdt
import websockets
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    CarnetServer,
    Script,
    Writer,
    bearer,
    doc_content,
    seed_from_env,
    state_of,
    stored_doc,
)

EXAMPLES = int(os.environ.get("CARNET_FUZZ_EXAMPLES", "150"))
MAX_FRAME = 8 * 1024 * 1024  # Limits.max_frame_bytes
OPEN = None


# ----------------------------------------------------------------------------- frames


def var_uint(value: int) -> bytes:
    """Any varUint, overlong or past 2**53 included (the codec refuses those)."""
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def _sample_docs() -> list[bytes]:
    updates = []
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=424242)
    doc.observe(lambda event: updates.append(event.update))
    text = doc.get("fuzz", type=pycrdt.Text)
    text.insert(0, "abc")
    text.insert(1, "été ")
    del text[0:1]
    doc.get("fuzzmap", type=pycrdt.Map)["k"] = [1, "two", {"three": 3.0}]
    return updates


SAMPLE_UPDATES = _sample_docs()

valid_frames = st.one_of(
    st.sampled_from(SAMPLE_UPDATES).map(wire.encode_sync_update),
    st.sampled_from(SAMPLE_UPDATES).map(wire.encode_sync_step2),
    st.just(wire.encode_sync_step1(b"\x00")),
    st.just(wire.encode(wire.QueryAwareness())),
    st.just(wire.encode_sync_update(wire.EMPTY_UPDATE)),
    st.builds(
        lambda client, clock, state: wire.encode_awareness_message(
            wire.encode_awareness([wire.AwarenessEntry(client, clock, state)])
        ),
        st.integers(1, 2**32),
        st.integers(0, 2**20),
        st.sampled_from(['{"user":{"name":"Zoé"}}', "null", "{}", "[1,2]", '"x"']),
    ),
)

server_only = st.one_of(
    st.text(max_size=20).map(lambda reason: wire.encode(wire.PermissionDenied(reason))),
    st.builds(lambda c, s: wire.encode(wire.Saved(c, s)), st.integers(0, 2**40), st.integers(0, 9)),
    st.integers(0, 2**30).map(lambda n: wire.encode(wire.SaveDelayed(n))),
    st.builds(
        lambda c, d: wire.encode(wire.Status(c, d)), st.text(max_size=10), st.text(max_size=10)
    ),
)


@st.composite
def garbage_payload(draw: st.DrawFn) -> bytes:
    """A valid message type around a garbage body."""
    body = draw(st.binary(max_size=48))
    kind = draw(st.sampled_from([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01"]))
    return kind + var_uint(len(body)) + body


@st.composite
def bad_awareness(draw: st.DrawFn) -> bytes:
    states = draw(st.lists(st.text(max_size=12), min_size=1, max_size=3))
    entries = [
        var_uint(draw(st.integers(0, 2**60)))
        + var_uint(draw(st.integers(0, 2**60)))
        + wire.encode_var_string(state)
        for state in states
    ]
    count = draw(st.one_of(st.just(len(entries)), st.integers(0, 20_000)))
    return wire.encode_awareness_message(var_uint(count) + b"".join(entries))


@st.composite
def huge_varints(draw: st.DrawFn) -> bytes:
    value = draw(st.one_of(st.integers(2**53 - 2, 2**70), st.integers(0, 127)))
    overlong = draw(st.integers(0, 9))
    raw = var_uint(value)
    if overlong:
        raw = bytes(b | 0x80 for b in raw) + b"\x80" * (overlong - 1) + b"\x00"
    prefix = draw(
        st.sampled_from([b"", b"\x00", b"\x00\x02", b"\x01", b"\x02", b"\x64", b"\x64\x01"])
    )
    return prefix + raw + draw(st.binary(max_size=4))


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid frame truncated, extended, or with bytes flipped."""
    frame = bytearray(draw(st.one_of(valid_frames, server_only)))
    action = draw(st.sampled_from(["truncate", "flip", "append", "length"]))
    if action == "truncate":
        return bytes(frame[: draw(st.integers(0, max(0, len(frame) - 1)))])
    if action == "append":
        return bytes(frame) + draw(st.binary(min_size=1, max_size=8))
    if action == "length" and len(frame) > 2:
        frame[2 if frame[0] == 0 else 1] = draw(st.integers(0, 255))
        return bytes(frame)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(frame) - 1))
        frame[index] ^= 1 << draw(st.integers(0, 7))
    return bytes(frame)


@st.composite
def corrupt_update(draw: st.DrawFn) -> bytes:
    """A well-framed SyncUpdate or SyncStep2 whose update has bytes flipped, cut or added."""
    update = bytearray(draw(st.sampled_from(SAMPLE_UPDATES)))
    for _ in range(draw(st.integers(1, 4))):
        action = draw(st.sampled_from(["flip", "set", "cut", "insert"]))
        index = draw(st.integers(0, len(update) - 1))
        if action == "flip":
            update[index] ^= 1 << draw(st.integers(0, 7))
        elif action == "set":
            update[index] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif action == "cut" and len(update) > 1:
            del update[index]
        else:
            update[index:index] = draw(st.binary(min_size=1, max_size=3))
    encode = draw(st.sampled_from([wire.encode_sync_update, wire.encode_sync_step2]))
    return encode(bytes(update))


hostile_frame = st.one_of(
    corrupt_update(),
    st.binary(max_size=64),
    garbage_payload(),
    bad_awareness(),
    huge_varints(),
    mutated(),
    server_only,
    valid_frames,
    st.text(max_size=16),  # a text frame
)


# ----------------------------------------------------------------------------- oracle


def expected_close(frame: bytes | str, room: pycrdt.Doc[Any]) -> int | None:
    """What docs/protocol.md says an editor's frame leads to: None (kept) or a close code.

    ``room`` is a copy of the room's document; an accepted update is applied to it.
    """
    if isinstance(frame, str):
        return 4400  # binary frames only
    if len(frame) > MAX_FRAME:
        return 4413
    try:
        message = wire.decode(frame)
    except wire.ProtocolError:
        return 4400
    match message:
        case wire.SyncStep1(state_vector):
            try:
                room.get_update(state_vector)
            except Exception:
                return 4400
            return OPEN
        case wire.SyncStep2(update) | wire.SyncUpdate(update):
            if wire.is_empty_update(update):
                return OPEN
            try:
                wire.update_has_structs(update)
            except wire.ProtocolError:
                return 4400
            try:
                pycrdt.get_state(update)
                trial: pycrdt.Doc[Any] = pycrdt.Doc()
                trial.apply_update(room.get_update())
                trial.apply_update(update)
            except Exception:
                return 4400
            room.apply_update(update)
            return OPEN
        case wire.AwarenessMessage(payload):
            try:
                wire.decode_awareness(payload)
            except wire.ProtocolError:
                return 4400
            return OPEN
        case wire.QueryAwareness():
            return OPEN
        case _:
            return 4400  # auth and carnet messages only go from server to client


# ----------------------------------------------------------------------------- the test


async def send_and_probe(
    url: str, headers: dict[str, str], frames: list[bytes | str], answers: int = 0
) -> int | None:
    """Send the frames, then a SyncStep1 of our own.

    None when its SyncStep2 comes back (after the ``answers`` SyncStep2 owed to
    SyncStep1 frames among ``frames``): the connection was kept. Else the close code.
    """
    async with websockets.connect(
        url, additional_headers=headers, max_size=None, compression=None
    ) as ws:
        first = wire.decode(await ws.recv())
        assert isinstance(first, wire.SyncStep1)
        try:
            for frame in frames:
                await ws.send(frame)
            await ws.send(wire.encode_sync_step1(b"\x00"))
            async with asyncio.timeout(10):
                while True:
                    message = wire.decode(await ws.recv())
                    if isinstance(message, wire.SyncStep2):
                        if answers == 0:
                            return OPEN
                        answers -= 1
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else 1006
    return OPEN


async def test_hostile_frames_on_a_live_socket(
    carnet: StartCarnet, database: str, people_of: Any
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    server: CarnetServer = await carnet()
    alice = await people_of(server).new("Alice")
    _, note_id = await people_of(server).note(alice)
    url = server.note_url(note_id)
    writer = Writer(url, headers=bearer(alice), name="well-behaved")
    await writer.connect()
    await writer.synced.wait()
    script = Script(rng, [writer])
    loop = asyncio.get_running_loop()
    examples = 0

    async def one_example(frames: list[bytes | str]) -> None:
        nonlocal examples
        examples += 1
        # The room's document as it is now (the writer's copy, once saved).
        await writer.wait_saved()
        room: pycrdt.Doc[Any] = pycrdt.Doc()
        room.apply_update(writer.doc.get_update())
        expected, answers = OPEN, 0
        for frame in frames:
            expected = expected_close(frame, room)
            if expected is not OPEN:
                break
            answers += isinstance(frame, bytes) and frame[:2] == b"\x00\x00"
        actual = await send_and_probe(url, bearer(alice), frames, answers)
        assert actual == expected, f"frames {frames!r}: expected {expected}, got {actual}"
        if rng.random() < 0.5:
            script.step()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @hypothesis.seed(seed)
    @given(frames=st.lists(hostile_frame, min_size=1, max_size=3))
    def run(frames: list[bytes | str]) -> None:
        asyncio.run_coroutine_threadsafe(one_example(frames), loop).result(timeout=60)

    try:
        await asyncio.to_thread(run)
        print(f"{examples} examples")
        # Explicit sizes: just past the frame limit (4413), past uvicorn's 16 MiB (1009).
        for size, code in ((MAX_FRAME + 1, 4413), (17 * 1024 * 1024, 1009)):
            frame = wire.encode_sync_update(b"\x01" * size)
            assert await send_and_probe(url, bearer(alice), [frame]) == code
        for _ in range(5):
            script.step()

        # No corruption: the writer holds what it wrote plus what was accepted,
        # the database holds exactly the same, a fresh client too.
        await writer.wait_saved()
        assert writer.connected
        names = [*script.names, "fuzz"]
        content = doc_content(writer.doc, names)
        assert content["t0"] == script.models[0]
        stored = await stored_doc(database, note_id)
        assert doc_content(stored, names) == content
        assert state_of(stored) == state_of(writer.doc)
        fresh = await Writer(url, headers=bearer(alice), name="fresh").connect()
        try:
            await fresh.synced.wait()
            await fresh.wait_for(lambda: fresh.content(names) == content, 10)
        finally:
            await fresh.close()
        # No crash, nothing the server did not expect.
        log = server.log(tail=10_000_000)
        errors = [line for line in log.splitlines() if '"level": "error"' in line]
        assert not errors, "\n".join(errors[:5])
        assert server.alive
    finally:
        with contextlib.suppress(Exception):
            await writer.close()
