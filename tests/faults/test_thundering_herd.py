"""A thundering herd: 500 clients connect at once to one cold note (issue 6).

The note is written through one process; a second process that never opened
it takes the herd. It must load the note from PostgreSQL exactly once
(``carnet_room_loads_total``), and every client must get the whole document
in its first SyncStep2. The clients are raw WebSocket connections (a
SyncStep1, then read until the SyncStep2), to keep the client side cheap.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pycrdt
import websockets

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    Script,
    Writer,
    assert_converged,
    bearer,
    doc_content,
    seed_from_env,
    stored_doc,
)

HERD = 500
EDITORS = 10  # with Alice's token; the rest are anonymous readers of a public note


async def first_sync(
    url: str,
    headers: dict[str, str] | None,
    go: asyncio.Event,
    synced: list[bytes],
    leave: asyncio.Event,
) -> None:
    """Connect when told, send SyncStep1(empty), keep the server's SyncStep2 update,
    and stay connected until told to leave."""
    await go.wait()
    async with websockets.connect(
        url, additional_headers=headers, open_timeout=60, compression=None
    ) as ws:
        first = wire.decode(await ws.recv())
        assert isinstance(first, wire.SyncStep1), first  # the server speaks first
        await ws.send(wire.encode_sync_step1(b"\x00"))
        async with asyncio.timeout(60):
            while True:
                message = wire.decode(await ws.recv())
                if isinstance(message, wire.SyncStep2):
                    synced.append(message.update)
                    break
        await leave.wait()


async def test_five_hundred_clients_on_a_cold_note(
    carnet: StartCarnet, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    first = await carnet()
    people = people_of(first)  # type: ignore[operator]
    alice = await people.new("Alice")
    _, note_id = await people.note(alice, visibility="public")
    writers = [
        Writer(first.note_url(note_id), headers=bearer(alice), name=f"w{i}") for i in range(2)
    ]
    for writer in writers:
        await writer.connect()
        await writer.synced.wait()
    script = Script(rng, writers)
    try:
        for _ in range(rng.randint(50, 150)):
            script.step()
            await asyncio.sleep(0.002)
        expected = await assert_converged(script, database, note_id)
    finally:
        for writer in writers:
            await writer.close()

    cold = await carnet()
    before = await cold.metrics()
    assert before["carnet_room_loads_total"] == 0
    go, leave = asyncio.Event(), asyncio.Event()
    url = cold.note_url(note_id)
    updates: list[bytes] = []
    herd = [
        asyncio.create_task(
            first_sync(url, bearer(alice) if i < EDITORS else None, go, updates, leave)
        )
        for i in range(HERD)
    ]
    try:
        started = time.monotonic()
        go.set()
        async with asyncio.timeout(90):
            while len(updates) < HERD:
                failed = [task for task in herd if task.done() and task.exception()]
                if failed:
                    raise failed[0].exception()  # type: ignore[misc]
                await asyncio.sleep(0.02)
        print(f"{HERD} clients synced in {time.monotonic() - started:.1f}s")
        during = await cold.metrics()
        assert during["carnet_room_loads_total"] == 1, during
        assert during['carnet_connections{role="editor"}'] == EDITORS
        assert during['carnet_connections{role="viewer"}'] == HERD - EDITORS
    finally:
        leave.set()
        await asyncio.gather(*herd, return_exceptions=True)
    for update in updates:
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        doc.apply_update(update)
        assert {name: str(doc.get(name, type=pycrdt.Text)) for name in expected} == expected
    # Everyone left; the stored document is untouched.
    late = Writer(url, headers=bearer(alice), name="late")
    await late.connect()
    try:
        await late.synced.wait()
        assert late.content(expected) == expected
    finally:
        await late.close()
    assert (await cold.metrics())["carnet_room_loads_total"] == 1
    stored = await stored_doc(database, note_id)
    assert doc_content(stored, expected) == expected
