"""Redis stopped and restarted during editing across two processes (issue 6).

While Redis is down each process keeps serving its own writers (they see each
other's edits and are saved); the two processes may diverge. When Redis is back,
each process catches up from PostgreSQL without waiting for a new edit, and
every writer and the database converge on exactly the expected document.

And the first update and presence published after Redis returns (through
connections pooled before the restart) reach the other process by themselves.
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
    eventually,
    seed_from_env,
)


async def test_redis_down_then_back(
    carnet: StartCarnet, redis: RedisServer, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    a = await carnet(redis.url)
    b = await carnet(redis.url)
    people = people_of(a)  # type: ignore[operator]
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    on_a = [Writer(a.note_url(note_id), headers=bearer(alice), name=f"a{i}") for i in range(2)]
    on_b = [Writer(b.note_url(note_id), headers=bearer(alice), name=f"b{i}") for i in range(2)]
    writers = on_a + on_b
    for writer in writers:
        await writer.connect()
        await writer.synced.wait()
    await asyncio.sleep(0.3)
    script = Script(rng, writers)

    try:
        for _ in range(30):
            script.step()
            await asyncio.sleep(0.005)
        await assert_converged(script, database, note_id)
        reconnects = [
            (await s.metrics())['carnet_catch_ups_total{cause="redis_reconnect"}'] for s in (a, b)
        ]

        redis.stop()
        await asyncio.sleep(0.3)  # both processes notice
        for _ in range(60):
            script.step()
            await asyncio.sleep(rng.uniform(0, 0.01))
        # Each process still serves its own writers, live and saved.
        for group in (on_a, on_b):
            for writer in group:
                for other in group:
                    index = writers.index(other)
                    await writer.wait_for(
                        lambda w=writer, i=index: (
                            str(w.content([f"t{i}"])[f"t{i}"])  # type: ignore[misc]
                            == script.models[i]
                        ),
                        10,
                    )
                await writer.wait_saved()
        apart = {w.name: w.content(script.names) for w in writers}
        print(f"diverged while Redis was down: {apart[on_a[0].name] != apart[on_b[0].name]}")

        await redis.start()
        # No new edit: the catch-up on reconnection alone must bring both sides together.
        await assert_converged(script, database, note_id, timeout=20)
        for server, before in zip((a, b), reconnects, strict=True):
            metrics = await server.metrics()
            assert metrics['carnet_catch_ups_total{cause="redis_reconnect"}'] > before
        # And fan-out works again.
        for _ in range(30):
            script.step()
            await asyncio.sleep(rng.uniform(0, 0.01))
        expected = await assert_converged(script, database, note_id)
        print(f"{script.edits} edits, {sum(map(len, expected.values()))} characters")
    finally:
        for writer in writers:
            await writer.close()


async def test_first_messages_after_redis_returns_are_not_lost(
    carnet: StartCarnet, redis: RedisServer, database: str, people_of: object
) -> None:
    seed = seed_from_env()
    a = await carnet(redis.url)
    b = await carnet(redis.url)
    people = people_of(a)  # type: ignore[operator]
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    left = await Writer(a.note_url(note_id), headers=bearer(alice), name="left").connect()
    right = await Writer(b.note_url(note_id), headers=bearer(alice), name="right").connect()
    try:
        await left.synced.wait()
        await right.synced.wait()
        await asyncio.sleep(0.3)
        script = Script(random.Random(seed), [left, right])
        for _ in range(10):
            script.step()
            await asyncio.sleep(0.005)
        await assert_converged(script, database, note_id)
        left.set_presence({"user": {"name": "Alice"}, "seed": seed})
        await right.wait_for(lambda: left.doc.client_id in right.awareness, 5)
        key = 'carnet_catch_ups_total{cause="redis_reconnect"}'
        before = [(await s.metrics())[key] for s in (a, b)]
        redis.stop()
        await redis.start()

        async def both_back() -> bool:
            now = [(await s.metrics())[key] for s in (a, b)]
            return all(n > m for n, m in zip(now, before, strict=True))

        await eventually(both_back, 10, "both processes subscribed to Redis again")
        # The first messages after the restart go through connections pooled
        # before it: they must not be lost. One edit, with nothing after it that
        # would reveal a gap, and the catch-up of the reconnection already done.
        script.step(0)
        expected = script.expected()
        await right.wait_for(lambda: right.content(script.names) == expected, 5)
        left.set_presence({"user": {"name": "Alice"}, "seed": seed, "moved": True}, clock=2)
        await right.wait_for(lambda: '"moved"' in right.awareness.get(left.doc.client_id, ""), 5)
        for _ in range(10):
            script.step()
            await asyncio.sleep(0.005)
        await assert_converged(script, database, note_id)
    finally:
        await left.close()
        await right.close()
