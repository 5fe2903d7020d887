"""PostgreSQL: the one place where SQL lives.

Each module holds the plain, parameterised SQL of one part of the model and
takes an ``asyncpg`` connection, so the caller decides the transaction (the
API runs each request in one).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import asyncpg


async def page_total(
    conn: asyncpg.Connection,
    rows: list[asyncpg.Record],
    offset: int,
    count_sql: str,
    *args: object,
) -> int:
    """The number of items behind a page of ``rows`` (each carrying ``count(*) OVER ()``).

    The window count rides on the page's rows, so a page past the end has none
    to carry it: then, and only then, count apart with ``count_sql``.
    """
    if rows:
        return int(rows[0]["total"])
    if offset == 0:
        return 0
    return int(await conn.fetchval(count_sql, *args))


class Database:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @classmethod
    async def connect(cls, url: str, *, max_size: int = 10) -> Database:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=max_size)
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn, conn.transaction():
            # A pooled connection proxies every Connection method.
            yield cast(asyncpg.Connection, conn)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.pool.acquire() as conn:
            yield cast(asyncpg.Connection, conn)
