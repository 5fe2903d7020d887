"""PostgreSQL stopped for 10 s during editing (issue 6, fault suite and operations).

While it is down: writers are told saving is delayed (SaveDelayed), keep
editing with each other live, ``/metrics`` shows ``carnet_saving_delayed 1``
and a growing ``carnet_unsaved_updates``, and a new connection is refused with
4503 (retry). When it returns: every update is saved, acknowledged, and the
database holds exactly the expected document.
"""

from __future__ import annotations

import asyncio
import random
import time

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    Postgres,
    Script,
    Writer,
    assert_clients_converged,
    assert_converged,
    bearer,
    eventually,
    seed_from_env,
)

OUTAGE = 10.0


async def test_database_down_for_ten_seconds(
    carnet: StartCarnet, postgres: Postgres, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    server = await carnet()
    people = people_of(server)  # type: ignore[operator]
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    url = server.note_url(note_id)
    writers = [Writer(url, headers=bearer(alice), name=f"w{i}") for i in range(3)]
    for writer in writers:
        await writer.connect()
        await writer.synced.wait()
    script = Script(rng, writers)

    try:
        for _ in range(30):
            script.step()
            await asyncio.sleep(0.005)
        await assert_converged(script, database, note_id)
        before = await server.metrics()
        assert before["carnet_saving_delayed"] == 0
        assert before["carnet_unsaved_updates"] == 0

        await asyncio.to_thread(postgres.stop)
        down_at = time.monotonic()
        try:
            # w0 and w1 type from the first moment; w2 only once saving is known
            # to be delayed: it must be told too.
            for _ in range(20):
                script.step(rng.randrange(2))
                await asyncio.sleep(0.02)
            await eventually(
                lambda: any(w.of_type(wire.SaveDelayed) for w in writers[:2]),
                5,
                "a writer told that saving is delayed",
            )
            for _ in range(10):
                script.step(2)
                await asyncio.sleep(0.02)
            for writer in writers:
                told = writer.name, "was never told that saving is delayed"
                try:
                    await writer.wait_for(lambda w=writer: w.of_type(wire.SaveDelayed), 5)  # type: ignore[misc]
                except TimeoutError:
                    raise AssertionError(told) from None
                assert writer.connected
                assert writer.saved_count < writer.sent_updates
                delayed = writer.of_type(wire.SaveDelayed)[-1]
                assert 1 <= delayed.unsaved <= writer.sent_updates - writer.saved_count
            # Writers connected meanwhile keep editing with each other.
            while time.monotonic() - down_at < OUTAGE - 3:
                script.step()
                await asyncio.sleep(rng.uniform(0.01, 0.05))
            await assert_clients_converged(script, timeout=5)

            metrics = await server.metrics()
            print(f"while down: {metrics}")
            assert metrics["carnet_saving_delayed"] == 1
            assert metrics["carnet_unsaved_updates"] > 0
            assert metrics["carnet_unsaved_updates"] == sum(
                w.sent_updates - w.saved_count for w in writers
            )
            # A new connection cannot be admitted without the database: 4503, retry.
            late = Writer(url, headers=bearer(alice), name="late")
            await late.connect()
            assert await late.wait_closed(10) == 4503
            await late.close()
            await asyncio.sleep(max(0.0, OUTAGE - (time.monotonic() - down_at)))
        finally:
            await asyncio.to_thread(postgres.start)
        print(f"PostgreSQL was down for {time.monotonic() - down_at:.1f}s")

        for _ in range(10):
            script.step()
            await asyncio.sleep(0.01)
        expected = await assert_converged(script, database, note_id, timeout=30)
        after = await server.metrics()
        assert after["carnet_saving_delayed"] == 0
        assert after["carnet_unsaved_updates"] == 0
        assert after["carnet_updates_saved_total"] >= sum(w.sent_updates for w in writers)
        print(f"{script.edits} edits, {sum(map(len, expected.values()))} characters saved")
    finally:
        for writer in writers:
            await writer.close()
