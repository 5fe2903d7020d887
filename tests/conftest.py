"""Shared fixtures: a fresh PostgreSQL database per run, a real server, real clients.

``CARNET_TEST_ADMIN_URL`` (default: the local ``postgres`` database) is where
the per-run database is created and dropped.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
import uvicorn
from tests.support import ADMIN_URL, People, RunningServer, database_url_for, free_port

from carnet.app import create_app
from carnet.config import Settings


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
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        base_url=base_url,
        login_attempts_per_minute=1000,
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    yield RunningServer(base_url=base_url, settings=settings)
    uv.should_exit = True
    await task


@pytest.fixture
async def people(server: RunningServer) -> AsyncIterator[People]:
    made = People(server)
    yield made
    await made.aclose()


@pytest.fixture
async def anonymous(people: People) -> httpx.AsyncClient:
    return people.client()
