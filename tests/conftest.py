"""Shared fixtures: a fresh PostgreSQL database per run, a real server, real clients.

``CARNET_TEST_ADMIN_URL`` (default: the local ``postgres`` database) is where
the per-run database is created and dropped.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from tests.support import ADMIN_URL, Cast, People, RunningServer, database_url_for, serve_app


@pytest.fixture(scope="session")
async def database_url() -> AsyncIterator[str]:
    name = f"carnet_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_url_for(name)
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def server(database_url: str) -> AsyncIterator[RunningServer]:
    """The real app on a real port, in this event loop."""
    async with serve_app(database_url, login_attempts_per_minute=1000) as running:
        yield running


@pytest.fixture
async def people(server: RunningServer) -> AsyncIterator[People]:
    made = People(server)
    yield made
    await made.aclose()


@pytest.fixture
async def anonymous(people: People) -> httpx.AsyncClient:
    return people.client()


@pytest.fixture(scope="module")
async def cast(server: RunningServer) -> AsyncIterator[Cast]:
    """People shared by the tests of one module (see tests.support.Cast)."""
    made = People(server)
    yield Cast(made)
    await made.aclose()
