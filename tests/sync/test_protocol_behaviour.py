"""The y-websocket protocol as the live server speaks it (DESIGN §3, issue 3 "Limits").

Echo, "saved" acknowledgements, awareness relay and removal, query awareness,
malformed frames and rejected updates (4400), floods (4429), slow readers
(4408), and a fast honest editor that must be served.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pycrdt
import pytest
import websockets

from carnet.sync import protocol as wire
from carnet.sync.limits import Limits
from carnet.sync.rooms import build_doc
from tests.support import People, Person, RunningServer, serve_app
from tests.sync.client import YClient, doc_text
from tests.sync.helpers import bearer, doc_from_database, new_note, stored_document

SMALL_LIMITS = Limits(
    frames_per_second=100.0,
    frame_burst=200.0,
    send_queue_frames=8,
    viewer_interval=0.05,
)


@pytest.fixture(scope="module")
async def limited_server(database_url: str) -> AsyncIterator[RunningServer]:
    """A second app with small limits (rate and send queue), on the same database."""
    async with serve_app(database_url, limits=SMALL_LIMITS) as running:
        yield running


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def url_of(server: RunningServer, note_id: str) -> str:
    return f"{server.ws_url}/ws/notes/{note_id}"


async def editors(server: RunningServer, person: Person, note_id: str, count: int) -> list[YClient]:
    clients = [
        await YClient(url_of(server, note_id), headers=bearer(person)).connect()
        for _ in range(count)
    ]
    for client in clients:
        await client.wait_synced()
    return clients


async def close_all(*clients: YClient) -> None:
    for client in clients:
        await client.close()


def presence_entries(client: YClient) -> list[wire.AwarenessEntry]:
    return [
        entry
        for message in client.of_type(wire.AwarenessMessage)
        for entry in wire.decode_awareness(message.payload)
    ]


async def round_trip(client: YClient) -> None:
    """Everything the server sent this client before now has arrived.

    Frames of one connection are handled in order and the reply to a
    QueryAwareness comes after anything queued for us before it (the server
    only answers when someone is present).
    """
    before = len(client.of_type(wire.AwarenessMessage))
    client.send_raw(wire.encode(wire.QueryAwareness()))
    await client.wait_for(lambda: len(client.of_type(wire.AwarenessMessage)) > before)


# ----------------------------------------------------------------------------- echo, saved


async def test_updates_are_echoed_to_sender_and_acknowledged_after_commit(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    writer, other = await editors(server, alice, note_id, 2)
    sent: list[bytes] = []
    subscription = writer.doc.observe(lambda event: sent.append(event.update))
    try:
        text = writer.doc.get("text", type=pycrdt.Text)
        for word in ["Un ", "deux ", "trois ", "quatre ", "cinq"]:
            text += word
            await writer.wait_saved()
            # Told "saved" only once committed: the database has it the moment we know.
            stored = await stored_document(db, note_id)
            assert stored.last_seq >= writer.saved_seq
            assert doc_text(build_doc(stored)) == str(text)
        await writer.wait_for(lambda: len(writer.of_type(wire.SyncUpdate)) == len(sent))
        await other.wait_for(lambda: other.text() == "Un deux trois quatre cinq")
    finally:
        writer.doc.unobserve(subscription)
        await close_all(writer, other)

    # The sender gets its own updates back, byte for byte and in order.
    assert [m.update for m in writer.of_type(wire.SyncUpdate)] == sent
    assert [m.update for m in other.of_type(wire.SyncUpdate)] == sent
    # One acknowledgement per update at most, counting up to all of them; the
    # note's sequence number is the log's. The empty handshake SyncStep2 is not counted.
    counts = [ack.count for ack in writer.acks]
    assert counts == sorted(set(counts)) and counts[-1] == 5
    assert writer.acks[-1].seq == 5
    assert other.acks == []
    stored = await doc_from_database(db, note_id)
    assert doc_text(stored) == "Un deux trois quatre cinq"


# ----------------------------------------------------------------------------- awareness


async def test_awareness_relayed_and_removed_when_its_connection_closes(
    server: RunningServer, people: People
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    announcer, watcher = await editors(server, alice, note_id, 2)
    me = announcer.doc.client_id
    try:
        announcer.set_presence({"user": {"name": "Alice", "color": "#ff0000"}}, clock=1)
        await watcher.wait_for(lambda: me in watcher.awareness)
        announcer.set_presence({"user": {"name": "Alice"}, "cursor": {"anchor": 3}}, clock=2)
        await watcher.wait_for(lambda: "cursor" in watcher.awareness.get(me, ""))
        assert json.loads(watcher.awareness[me])["user"]["name"] == "Alice"
        await announcer.close()  # no goodbye message: the server says it
        await watcher.wait_for(lambda: me not in watcher.awareness)
        # Same clock as the last state, state null.
        assert presence_entries(watcher)[-1] == wire.AwarenessEntry(me, 2, "null")
    finally:
        await close_all(announcer, watcher)


async def test_connection_cannot_touch_another_connections_presence(
    server: RunningServer, people: People
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    owner, intruder, watcher = await editors(server, alice, note_id, 3)
    target = owner.doc.client_id
    state = json.dumps({"user": {"name": "Alice"}})
    try:
        owner.set_presence({"user": {"name": "Alice"}})
        await watcher.wait_for(lambda: target in watcher.awareness)
        await intruder.wait_for(lambda: target in intruder.awareness)

        for entry in (
            wire.AwarenessEntry(target, 5, json.dumps({"user": {"name": "Mallory"}})),
            wire.AwarenessEntry(target, 6, "null"),
        ):
            payload = wire.encode_awareness([entry])
            intruder.send_raw(wire.encode_awareness_message(payload))
        await round_trip(intruder)  # the server handled both before answering this
        await round_trip(watcher)  # and anything it broadcast reached the watcher first
        assert watcher.awareness[target] == state
        assert all(entry.clock == 1 for entry in presence_entries(watcher))

        # QueryAwareness is answered with every state, as the owner set it.
        late = (await editors(server, alice, note_id, 1))[0]
        await round_trip(late)
        assert late.awareness == {target: state}

        await intruder.close()  # leaving does not remove what it never owned
        await round_trip(watcher)
        assert watcher.awareness[target] == state
        await owner.close()
        await watcher.wait_for(lambda: target not in watcher.awareness)
        await late.wait_for(lambda: target not in late.awareness)
        await late.close()
    finally:
        await close_all(owner, intruder, watcher)


# ----------------------------------------------------------------------------- bad input

BAD_FRAMES: list[tuple[str, bytes | str]] = [
    ("empty frame", b""),
    ("truncated update", b"\x00\x02\x05ab"),
    ("trailing bytes", b"\x00\x02\x02\x00\x00\x00"),
    ("unknown sync type", b"\x00\x07\x00"),
    ("unknown message type", b"\x09"),
    ("overlong varUint", b"\x80\x00"),
    ("varUint too long", b"\x00\x02" + b"\xff" * 9 + b"\x01"),
    ("invalid state vector", b"\x00\x00\x03\x01\x05\xff"),
    ("awareness not JSON", wire.encode_awareness_message(b"\x01\x05\x01\x04{bad")),
    ("awareness truncated", wire.encode_awareness_message(b"\x02\x05\x01\x02{}")),
    ("auth from a client", wire.encode(wire.PermissionDenied("no"))),
    ("saved from a client", wire.encode(wire.Saved(1, 1))),
    ("text frame", "bonjour"),
]


async def test_malformed_frames_close_only_their_connection(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    writer, reader = await editors(server, alice, note_id, 2)
    text = writer.doc.get("text", type=pycrdt.Text)
    expected = ""
    try:
        for name, frame in BAD_FRAMES:
            bad = (await editors(server, alice, note_id, 1))[0]
            bad.send_raw(frame)
            text += f"{name}; "
            expected += f"{name}; "
            assert await bad.wait_closed() == 4400, name
            assert bad.close_reason, name
            await reader.wait_for(lambda: reader.text() == expected)  # noqa: B023
        assert writer.connected and reader.connected
        await writer.wait_saved()
    finally:
        await close_all(writer, reader)
    assert doc_text(await doc_from_database(db, note_id)) == expected


async def test_update_pycrdt_rejects_closes_4400_and_room_stays_intact(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = url_of(server, note_id)
    # Client id 1 makes the item <1#0> below predictable.
    writer = await YClient(url, headers=bearer(alice), doc=pycrdt.Doc(client_id=1)).connect()
    reader = (await editors(server, alice, note_id, 1))[0]
    try:
        await writer.wait_synced()
        text = writer.doc.get("text", type=pycrdt.Text)
        text += "hello"
        await writer.wait_saved()
        valid = writer.doc.get_update()
        rejected = [
            valid[:-3],  # truncated: pycrdt cannot even read its state vector
            # A string item of client 2 whose parent is the item <1#0> — a string,
            # not a type: pycrdt reads it, then refuses to integrate it.
            bytes([1, 1, 2, 0, 4, 0, 1, 0, 1]) + b"x" + b"\x00",
        ]
        for update in rejected:
            bad = (await editors(server, alice, note_id, 1))[0]
            bad.send_raw(wire.encode_sync_update(update))
            assert await bad.wait_closed() == 4400
        text += " world"
        await writer.wait_saved()
        await reader.wait_for(lambda: reader.text() == "hello world")
        fresh = (await editors(server, alice, note_id, 1))[0]
        assert fresh.text() == "hello world"
        await fresh.close()
    finally:
        await close_all(writer, reader)
    stored = await doc_from_database(db, note_id)
    assert doc_text(stored) == "hello world"
    assert wire.decode_state_vector(stored.get_state()) == {1: len("hello world")}


# ----------------------------------------------------------------------------- limits


async def test_flood_past_the_rate_limit_is_cut_off(
    limited_server: RunningServer, people: People
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    flooder, bystander = await editors(limited_server, alice, note_id, 2)
    try:
        for _ in range(1000):
            flooder.send_raw(b"\x03")  # QueryAwareness: tiny, valid
        assert await flooder.wait_closed() == 4429
        # The others go on.
        text = bystander.doc.get("text", type=pycrdt.Text)
        text += "toujours là"
        await bystander.wait_saved()
        assert bystander.connected
    finally:
        await close_all(flooder, bystander)


async def test_slow_viewer_is_cut_off_and_the_room_goes_on(
    limited_server: RunningServer, people: People
) -> None:
    alice = await people.new("Alice")
    bob = await people.new("Bob")
    carnet_id, note_id = await new_note(alice)
    response = await alice.client.post(
        f"/api/carnets/{carnet_id}/members", json={"email": bob.email, "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    writer, editor = await editors(limited_server, alice, note_id, 2)
    # A viewer that stops reading: tiny receive buffer, reading paused after one
    # frame, no compression (the server must really push bytes at it).
    port = urlsplit(limited_server.base_url).port
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    slow = await websockets.connect(
        url_of(limited_server, note_id),
        sock=sock,
        additional_headers=bearer(bob),
        max_queue=1,
        max_size=None,
        compression=None,
    )
    assert limited_server.app is not None
    room = limited_server.app.state.rooms.rooms[note_id]
    await wait_until(lambda: room.viewers == 1)

    async def read_once_cut_off() -> tuple[int | None, str]:
        """Stay away until the room drops the viewer, then read: what was already
        on its way (not the end of the text), then the close code."""
        await wait_until(lambda: room.viewers == 0, timeout=30)
        seen: pycrdt.Doc[Any] = pycrdt.Doc()
        try:
            async with asyncio.timeout(10):
                while True:
                    message = wire.decode(await slow.recv())
                    if isinstance(message, wire.SyncStep2 | wire.SyncUpdate):
                        seen.apply_update(message.update)
        except websockets.ConnectionClosed as closed:
            return (closed.rcvd.code if closed.rcvd else None), doc_text(seen)

    cut_off = asyncio.create_task(read_once_cut_off())
    try:
        text = writer.doc.get("text", type=pycrdt.Text)
        chunk = "x" * 100_000
        for i in range(60):  # 6 MB, an update every 20 ms: past every buffer on the way
            text += f"{i:02d}{chunk}"
            await asyncio.sleep(0.02)
        expected = str(text)
        # The room goes on: the other editor gets everything, and no one waits for
        # the slow viewer, which left the room while the writer was still typing.
        await editor.wait_for(lambda: editor.text() == expected, timeout=20)
        await writer.wait_saved()
        assert (room.editors, room.viewers) == (2, 0)
        code, partial = await cut_off
        assert code == 4408
        assert len(partial) < len(expected) and expected.startswith(partial)
    finally:
        cut_off.cancel()
        await slow.close()
        await close_all(writer, editor)

    # It resyncs when it reconnects.
    again = await YClient(url_of(limited_server, note_id), headers=bearer(bob)).connect()
    try:
        await again.wait_synced()
        assert again.text() == expected
    finally:
        await again.close()


async def test_fast_scripted_editor_is_served(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    """2,000 updates a second for 2 s over one connection: no cut-off, all acknowledged."""
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    (writer,) = await editors(server, alice, note_id, 1)
    text = writer.doc.get("text", type=pycrdt.Text)
    total, per_tick, tick = 4000, 20, 0.01
    try:
        started = time.monotonic()
        for i in range(total // per_tick):
            for j in range(per_tick):
                text += "abcdefghijklmnopqrstuvwxyz"[(i * per_tick + j) % 26]
            await asyncio.sleep(max(0.0, started + (i + 1) * tick - time.monotonic()))
        sending = time.monotonic() - started
        assert writer.sent_updates == total
        await writer.wait_saved(timeout=20)
        assert writer.connected, f"cut off with {writer.close_code}"
        assert writer.saved_count == total
        saving = time.monotonic() - started
        print(f"sent {total} updates in {sending:.2f}s, all saved after {saving:.2f}s")
    finally:
        await writer.close()
    expected = "".join("abcdefghijklmnopqrstuvwxyz"[k % 26] for k in range(total))
    assert doc_text(await doc_from_database(db, note_id)) == expected
    fresh = await YClient(url_of(server, note_id), headers=bearer(alice)).connect()
    try:
        await fresh.wait_synced()
        assert fresh.text() == expected
    finally:
        await fresh.close()
