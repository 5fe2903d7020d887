"""Schema migrations (carnet.storage.migrate) on fresh, empty databases."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from carnet.storage import migrate
from carnet.storage.migrate import (
    Migration,
    applied_versions,
    available_migrations,
    pending_migrations,
    upgrade,
)
from tests.support import ADMIN_URL, database_url_for


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = f"carnet_migrate_{secrets.token_hex(4)}"
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


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {row["tablename"] for row in rows}


def test_files_are_numbered_in_order() -> None:
    found = available_migrations()
    assert found, "no migration files packaged"
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "accounts_carnets_notes"


async def test_upgrade_from_empty_then_again(empty_database: str) -> None:
    conn = await asyncpg.connect(empty_database)
    try:
        assert await applied_versions(conn) == set()
        assert await pending_migrations(conn) == available_migrations()
        applied = await upgrade(conn)
        assert applied == available_migrations()
        assert {"users", "carnets", "carnet_members", "invitations", "notes", "note_authors",
                "carnet_notes", "note_links", "comments", "api_tokens", "browser_sessions",
                "login_failures", "schema_migrations"} <= await _tables(conn)  # fmt: skip
        recorded = await conn.fetch(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        )
        assert [(r["version"], r["name"]) for r in recorded] == [
            (m.version, m.name) for m in available_migrations()
        ]
        assert await pending_migrations(conn) == []
        # Running it again changes nothing.
        assert await upgrade(conn) == []
        again = await conn.fetch(
            "SELECT version, name, applied_at FROM schema_migrations ORDER BY version"
        )
        assert again == recorded
        # The advisory lock is not left behind.
        assert await conn.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
    finally:
        await conn.close()


async def test_concurrent_upgrades_do_not_conflict(empty_database: str) -> None:
    conns = [await asyncpg.connect(empty_database) for _ in range(3)]
    try:
        results = await asyncio.gather(*(upgrade(conn) for conn in conns))
        # One of them applied everything; the others waited for the lock, then found nothing.
        assert sorted(len(r) for r in results) == [0, 0, len(available_migrations())]
        rows = await conns[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == [m.version for m in available_migrations()]
    finally:
        for conn in conns:
            await conn.close()


async def test_a_failing_migration_leaves_nothing_behind(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = available_migrations()
    broken = Migration(
        version=len(real) + 1,
        name="broken",
        sql="CREATE TABLE half_done (id int); SELECT no_such_function();",
    )
    monkeypatch.setattr(migrate, "available_migrations", lambda: [*real, broken])
    conn = await asyncpg.connect(empty_database)
    try:
        with pytest.raises(asyncpg.UndefinedFunctionError):
            await upgrade(conn)
        assert await applied_versions(conn) == {m.version for m in real}
        assert "half_done" not in await _tables(conn)
        assert await pending_migrations(conn) == [broken]
        # The lock was released: another process can try (and fail the same way).
        other = await asyncpg.connect(empty_database)
        try:
            with pytest.raises(asyncpg.UndefinedFunctionError):
                await asyncio.wait_for(upgrade(other), 10)
        finally:
            await other.close()
    finally:
        await conn.close()
