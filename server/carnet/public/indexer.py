"""Keeping the search index in step with live writing.

A background task of each server process looks, every second, for notes
whose update log grew past what the index holds (or whose title, authors or
carnets changed), renders their text and re-indexes them. An advisory lock
makes one process do a given round; the others find nothing left to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from carnet.render import render
from carnet.storage import Database, publications, search
from carnet.storage import documents as store
from carnet.sync.history import doc_from_state
from carnet.sync.persistence import DATABASE_ERRORS
from carnet.sync.rooms import build_doc

logger = logging.getLogger(__name__)

INTERVAL = 1.0
BATCH = 50
_LOCK = "carnet-search-indexer"


async def index_pending(database: Database, batch: int = BATCH) -> int:
    """Re-index up to ``batch`` stale notes; returns how many were done."""
    async with database.transaction() as conn:
        locked = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _LOCK)
        if not locked:
            return 0
        stale = await search.stale_live(conn, batch)
        for note_id, gen in stale:
            stored = await store.load_document(conn, note_id)
            text = render(build_doc(stored), "text")
            await search.store_live(conn, note_id, stored.last_seq, gen, text)
        missing = await search.missing_published(conn, batch)
        for note_id, revision_id in missing:
            state = await publications.publication_state(conn, revision_id)
            text = render(doc_from_state(state), "text")
            await search.store_published(conn, note_id, text)
        await search.refresh_published(conn)
        return len(stale) + len(missing)


async def run_indexer(database: Database, interval: float = INTERVAL) -> None:
    while True:
        try:
            done = await index_pending(database)
        except asyncio.CancelledError:
            raise
        except DATABASE_ERRORS as error:
            logger.warning("search indexing delayed: %r", error)
            done = 0
            await asyncio.sleep(5 * interval)
        except Exception:
            logger.exception("search indexing failed")
            done = 0
            await asyncio.sleep(5 * interval)
        await asyncio.sleep(0 if done >= BATCH else interval)


@asynccontextmanager
async def indexer_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Runs after the main lifespan opened the database (``app.state.database``)."""
    database: Database = app.state.database
    task = asyncio.create_task(run_indexer(database), name="carnet-search-indexer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
