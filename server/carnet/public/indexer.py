"""Keeping the search index in step with live writing.

A background task of each server process looks, every second, for notes
whose update log grew past what the index holds (or whose title, authors or
carnets changed), renders their text and re-indexes them. An advisory lock
makes one process do a given round; the others find nothing left to do.

Rendering runs on the event loop that also serves live editing, so a note
being written is re-indexed at most every ``LIVE_EVERY`` seconds, and from
its open room's document when this process has one rather than rebuilt from
the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from carnet.render import render
from carnet.storage import Database, publications, search
from carnet.storage import documents as store
from carnet.sync.history import doc_from_state
from carnet.sync.persistence import DATABASE_ERRORS
from carnet.sync.rooms import Rooms, build_doc

logger = logging.getLogger(__name__)

INTERVAL = 1.0
BATCH = 50
LIVE_EVERY = 3.0
_LOCK = "carnet-search-indexer"


async def index_pending(
    database: Database,
    rooms: Rooms | None = None,
    indexed_at: dict[str, float] | None = None,
    batch: int = BATCH,
) -> int:
    """Re-index up to ``batch`` stale notes; returns how many were done.

    ``indexed_at`` (note id → monotonic time) spaces out the notes being written.
    """
    now = time.monotonic()
    recent = indexed_at if indexed_at is not None else {}
    async with database.transaction() as conn:
        locked = await conn.fetchval("SELECT pg_try_advisory_xact_lock(hashtext($1))", _LOCK)
        if not locked:
            return 0
        stale = await search.stale_live(conn, batch)
        done = 0
        for note_id, gen in stale:
            if now - recent.get(note_id, -LIVE_EVERY) < LIVE_EVERY:
                continue
            done += 1
            recent[note_id] = now
            room = rooms.rooms.get(note_id) if rooms is not None else None
            if room is not None:
                text, seq = render(room.doc, "text"), room.seq
            else:
                stored = await store.load_document(conn, note_id)
                text, seq = render(build_doc(stored), "text"), stored.last_seq
            await search.store_live(conn, note_id, seq, gen, text)
        missing = await search.missing_published(conn, batch)
        for note_id, revision_id in missing:
            state = await publications.publication_state(conn, revision_id)
            text = render(doc_from_state(state), "text")
            await search.store_published(conn, note_id, text)
        await search.refresh_published(conn)
        return done + len(missing)


async def run_indexer(database: Database, rooms: Rooms, interval: float = INTERVAL) -> None:
    indexed_at: dict[str, float] = {}
    while True:
        try:
            done = await index_pending(database, rooms, indexed_at)
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
        cutoff = time.monotonic() - LIVE_EVERY
        for note_id in [n for n, t in indexed_at.items() if t < cutoff]:
            del indexed_at[note_id]


@asynccontextmanager
async def indexer_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Runs after the main lifespan opened the database (``app.state.database``)."""
    database: Database = app.state.database
    rooms: Rooms = app.state.rooms
    task = asyncio.create_task(run_indexer(database, rooms), name="carnet-search-indexer")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
