"""A client that stops reading is cut off (4408); the room and the others go on (issue 6).

Two slow clients on a ``carnet serve`` process with its default limits (2,000
frames queued towards one connection):

- a co-author's forgotten tab: editor rights, so every update reaches it at once,
  on a socket with a tiny receive buffer whose reader stopped;
- a viewer (read-only member) stuck in a resync loop: it keeps sending SyncStep1
  and never reads the answers. (A plain viewer gets at most one merged frame per
  50 ms tick: past its 2,000-frame bound only after minutes.)

Meanwhile a writer types and a fast co-author and a fast viewer read: they get
everything, the writer's updates are all saved, and the database holds exactly
the writer's text. The slow ones, reading again, find the 4408 close after what
was queued, and on reconnecting resync to the whole document.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import pycrdt
import websockets

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    CarnetServer,
    Script,
    Writer,
    assert_converged,
    bearer,
    seed_from_env,
    stored_doc,
)
from tests.support import Person


async def stalled(server: CarnetServer, note_id: str, person: Person) -> Any:
    """A connection that reads nothing more once open: tiny buffers, no compression."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    port = urlsplit(server.base_url).port
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await websockets.connect(
        server.note_url(note_id),
        sock=sock,
        additional_headers=bearer(person),
        max_queue=1,
        max_size=None,
        compression=None,
    )


async def drain(ws: Any) -> tuple[pycrdt.Doc[Any], int | None]:
    """Read what was queued before the cut; return it as a doc, and the close code."""
    seen: pycrdt.Doc[Any] = pycrdt.Doc()
    try:
        async with asyncio.timeout(30):
            while True:
                message = wire.decode(await ws.recv())
                if isinstance(message, wire.SyncStep2 | wire.SyncUpdate):
                    seen.apply_update(message.update)
    except websockets.ConnectionClosed as closed:
        return seen, closed.rcvd.code if closed.rcvd else None
    finally:
        await ws.close()


async def test_slow_readers_are_cut_off_and_resync(
    carnet: StartCarnet, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    server = await carnet()
    people = people_of(server)  # type: ignore[operator]
    alice = await people.new("Alice")
    bob = await people.new("Bob")
    carnet_id, note_id = await people.note(alice)
    response = await alice.client.post(
        f"/api/carnets/{carnet_id}/members", json={"email": bob.email, "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    url = server.note_url(note_id)
    writer = Writer(url, headers=bearer(alice), name="writer")
    fast = Writer(url, headers=bearer(alice), name="fast co-author")
    viewer = Writer(url, headers=bearer(bob), name="fast viewer")
    for client in (writer, fast, viewer):
        await client.connect()
        await client.synced.wait()
    slow_editor = await stalled(server, note_id, alice)
    slow_viewer = await stalled(server, note_id, bob)
    stuck = await stalled(server, note_id, bob)
    script = Script(rng, [writer], shared=0.0)

    async def counts() -> tuple[float, float]:
        metrics = await server.metrics()
        return (
            metrics['carnet_connections{role="editor"}'],
            metrics['carnet_connections{role="viewer"}'],
        )

    try:
        assert await counts() == (3, 3)
        started = time.monotonic()
        blobs = writer.doc.get("blobs", type=pycrdt.Map)
        written: dict[str, bytes] = {}
        # 64 kB blobs (incompressible, and cheap for pycrdt, unlike long strings)
        # until every slow client is cut off: past the kernel's buffers and the
        # 8 MiB the server queues for one connection. The stuck viewer asks for
        # the whole document again after each one.
        while len(written) % 8 or await counts() != (2, 1):
            assert len(written) < 800, f"still connected after {len(written)} blobs"
            key = f"blob{len(written):04d}"
            written[key] = rng.randbytes(65_536)
            blobs[key] = written[key]
            with contextlib.suppress(websockets.ConnectionClosed):
                await stuck.send(wire.encode_sync_step1(b"\x00"))
            await asyncio.sleep(0.005)
        cut = time.monotonic() - started
        print(f"all three slow clients cut off after {len(written)} blobs of 64 kB, {cut:.1f}s")
        for _ in range(50):
            script.step()
            await asyncio.sleep(0.002)
        # Everyone else got everything, without waiting on the slow ones.
        expected = await assert_converged(script, database, note_id)
        stored = await stored_doc(database, note_id)
        assert stored.get("blobs", type=pycrdt.Map).to_py() == written
        for client in (fast, viewer):
            await client.wait_for(
                lambda c=client: (
                    c.content(expected) == expected  # type: ignore[misc]
                    and c.doc.get("blobs", type=pycrdt.Map).to_py() == written
                ),
                10,
            )
            assert client.connected
        print(f"the others kept up: {time.monotonic() - started:.1f}s in all")

        # The slow ones read again: what was queued, then the 4408 close.
        slow = (("co-author", slow_editor), ("viewer", slow_viewer), ("stuck viewer", stuck))
        for name, ws in slow:
            partial, code = await drain(ws)
            assert code == 4408, f"slow {name}: closed with {code}"
            # Only part of the document reached it: no more than the writer wrote.
            got = partial.get("blobs", type=pycrdt.Map).to_py() or {}
            assert got.items() <= written.items()
            assert len(got) < len(written), f"slow {name} got everything: it was not slow"
        # They resync on reconnecting.
        for person in (alice, bob):
            again = Writer(url, headers=bearer(person), name=f"{person.name} again")
            await again.connect()
            try:
                await again.synced.wait()
                await again.wait_for(
                    lambda a=again: (
                        a.content(expected) == expected  # type: ignore[misc]
                        and a.doc.get("blobs", type=pycrdt.Map).to_py() == written
                    ),
                    10,
                )
            finally:
                await again.close()
    finally:
        for client in (writer, fast, viewer):
            await client.close()
        for ws in (slow_editor, slow_viewer, stuck):
            await ws.close()
