"""The fan-out fast path: frames written straight to the transport, framed once."""

from __future__ import annotations

import asyncio

import pycrdt
import websockets

from carnet.sync import protocol as wire
from carnet.sync.direct import binary_frame
from carnet.sync.endpoint import SocketPeer
from tests.support import People, RunningServer
from tests.sync.client import YClient


def test_frames_are_encoded_as_websockets_would() -> None:
    from websockets.frames import Frame, Opcode

    for size in (0, 125, 126, 65535, 65536):
        payload = bytes(range(256)) * (size // 256) + bytes(size % 256)
        expected = Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])
        assert binary_frame(payload) == expected


async def test_viewers_and_editors_are_served_by_the_fast_path(
    server: RunningServer, people: People
) -> None:
    alice = await people.new()
    _, note_id = await people.note(alice, visibility="public")
    url = f"{server.ws_url}/ws/notes/{note_id}"
    writer = await YClient(url, headers={"authorization": f"Bearer {alice.token}"}).connect()
    await writer.synced.wait()
    async with websockets.connect(url) as viewer:
        assert server.app is not None
        room = server.app.state.rooms.rooms[note_id]
        assert all(isinstance(p, SocketPeer) and p.direct is not None for p in room.peers)
        writer.doc.get("t", type=pycrdt.Text).insert(0, "en direct")
        replica: pycrdt.Doc = pycrdt.Doc()  # type: ignore[type-arg]
        async with asyncio.timeout(5):
            while str(replica.get("t", type=pycrdt.Text)) != "en direct":
                match wire.decode(await viewer.recv()):
                    case wire.SyncUpdate(update) | wire.SyncStep2(update):
                        replica.apply_update(update)
                    case wire.SyncStep1():
                        await viewer.send(wire.encode_sync_step2(wire.EMPTY_UPDATE))
                        await viewer.send(wire.encode_sync_step1(replica.get_state()))
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates)
    await writer.close()
