"""SIGTERM during editing: the process flushes every room before it exits (issue 6).

"Accepted" is what the server echoed: it echoes an update to every editor only
after applying it to the room. After the process has exited — before anyone
reconnects — every update any client received as an echo must be in
PostgreSQL, including those not yet acknowledged as saved when SIGTERM came.
Then the process starts again, the writers reconnect, and what it never
accepted is re-sent and lands.
"""

from __future__ import annotations

import asyncio
import random

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    Script,
    Writer,
    assert_converged,
    bearer,
    missing,
    seed_from_env,
    stored_doc,
)


def echoed(writer: Writer) -> list[bytes]:
    return [message.update for message in writer.of_type(wire.SyncUpdate)]


async def test_sigterm_flushes_every_room(
    carnet: StartCarnet, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    server = await carnet()
    people = people_of(server)  # type: ignore[operator]
    alice = await people.new("Alice")
    # Two notes: every room is flushed, not only one.
    _, first = await people.note(alice)
    _, second = await people.note(alice)
    notes = [first, second]
    groups: list[list[Writer]] = []
    for note_id in notes:
        group = [
            Writer(server.note_url(note_id), headers=bearer(alice), name=f"{note_id}-{i}")
            for i in range(3)
        ]
        for writer in group:
            await writer.connect()
            await writer.synced.wait()
        groups.append(group)
    scripts = [Script(rng, group[:2]) for group in groups]  # the third only watches

    try:
        for _ in range(40):
            for script in scripts:
                script.step()
            await asyncio.sleep(0.003)
        # A burst, and SIGTERM in the middle of it.
        for n in range(400):
            for script in scripts:
                script.step()
            if n == 200:
                server.terminate()
            await asyncio.sleep(0)
        code = await server.wait_exit(30)
        # uvicorn re-raises the SIGTERM it caught once its shutdown is complete.
        assert code in (0, -15), server.log()
        assert "Application shutdown complete" in server.log(), server.log()
        for group in groups:
            for writer in group:
                await writer.wait_closed(5)
        accepted_unacked = 0
        echoes = 0
        for note_id, group, script in zip(notes, groups, scripts, strict=True):
            stored = await stored_doc(database, note_id)
            seen = [update for writer in group for update in echoed(writer)]
            echoes += len(seen)
            assert seen
            lacking = missing(stored, seen, script.names)
            assert not lacking, (
                f"{len(lacking)} updates the server accepted (and echoed) are missing after SIGTERM"
            )
            for writer in script.writers:
                # Sent, not acknowledged when the connection closed, yet saved.
                unacked = writer.sent_frames[writer.saved_count :]
                accepted_unacked += len(unacked) - len(missing(stored, unacked, script.names))
        print(
            f"{echoes} echoed updates all in PostgreSQL after SIGTERM, "
            f"{accepted_unacked} of them never acknowledged to their writer"
        )
        assert accepted_unacked > 0, "SIGTERM came when everything was acknowledged"
        print("close codes:", sorted({w.close_code for g in groups for w in g}, key=str))

        # Back up; the writers reconnect and what the server never took is re-sent.
        await server.start()
        for group in groups:
            for writer in group:
                await writer.connect()
        for _ in range(10):
            for script in scripts:
                script.step()
            await asyncio.sleep(0.005)
        for note_id, script in zip(notes, scripts, strict=True):
            await assert_converged(script, database, note_id)
            watcher = next(g[2] for g in groups if g[0] is script.writers[0])
            await watcher.wait_for(
                lambda w=watcher, s=script: w.content(s.names) == s.expected(),
                10,  # type: ignore[misc]
            )
    finally:
        for group in groups:
            for writer in group:
                await writer.close()
