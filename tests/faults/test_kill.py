"""SIGKILL of one of two processes while clients type (issue 6, fault suite).

Writers on process A and B edit one note; A is killed mid-burst. At that
moment every update acknowledged as saved must already be in PostgreSQL. A's
writers keep typing offline, reconnect to B, and their unacknowledged edits
reach it through the SyncStep1/SyncStep2 exchange; then every writer and the
database hold exactly the expected document.
"""

from __future__ import annotations

import asyncio
import random

from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    RedisServer,
    Script,
    Writer,
    assert_converged,
    bearer,
    missing,
    seed_from_env,
    stored_doc,
)


async def test_sigkill_of_a_process_loses_nothing_acknowledged(
    carnet: StartCarnet, redis: RedisServer, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    a = await carnet(redis.url)
    b = await carnet(redis.url)
    people = people_of(a)  # type: ignore[operator]
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)

    on_a = [Writer(a.note_url(note_id), headers=bearer(alice), name=f"a{i}") for i in range(3)]
    on_b = [Writer(b.note_url(note_id), headers=bearer(alice), name=f"b{i}") for i in range(2)]
    writers = on_a + on_b
    for writer in writers:
        await writer.connect()
        await writer.synced.wait()
    await asyncio.sleep(0.3)  # both processes subscribed to the note's channel
    script = Script(rng, writers)

    try:
        for _ in range(rng.randint(40, 80)):
            script.step()
            await asyncio.sleep(rng.uniform(0, 0.01))
        # A burst on A's writers, partly on the wire, partly still in their queues.
        for _ in range(30):
            script.step(rng.randrange(len(on_a)))
        await asyncio.sleep(0)
        a.kill()
        held = {w.name: w.unacked for w in writers}
        print(f"unacknowledged at the kill: {held}")
        assert sum(held[w.name] for w in on_a) > 0

        stored = await stored_doc(database, note_id)
        acked = sum(len(w.acked) for w in writers)
        assert acked > 0
        for writer in writers:
            lacking = missing(stored, writer.acked, script.names)
            assert not lacking, (
                f"{writer.name}: {len(lacking)} updates acknowledged as saved are not in the "
                "database"
            )
        print(f"{acked} acknowledged updates all in PostgreSQL after the kill")

        for writer in on_a:
            assert await writer.wait_closed(5) == 1006
        # A's writers type on while offline, then move to B.
        for _ in range(20):
            script.step(rng.randrange(len(on_a)))
            script.step(len(on_a) + rng.randrange(len(on_b)))
            await asyncio.sleep(0.005)
        for writer in on_a:
            await writer.connect(b.note_url(note_id))
        for _ in range(rng.randint(20, 40)):
            script.step()
            await asyncio.sleep(rng.uniform(0, 0.01))
        expected = await assert_converged(script, database, note_id)
        print(f"converged on {sum(map(len, expected.values()))} characters")
    finally:
        for writer in writers:
            await writer.close()
