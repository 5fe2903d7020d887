"""Group commit of live updates to PostgreSQL, never dropping one.

Rooms hand every accepted update to :meth:`Persister.save`; one background
task writes whatever has accumulated in a single transaction (so many
clients share one commit) and then calls each update's ``on_saved`` with its
sequence number. If the database is unreachable, updates stay in memory in
order and the batch is retried with backoff; ``on_delayed`` tells the rooms,
which tell their clients, that saving is delayed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from carnet.metrics import Histogram
from carnet.storage import Database
from carnet.storage.documents import NewUpdate, append_updates

logger = logging.getLogger(__name__)

MAX_BATCH = 5000
SAVE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
_BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)

# What a lost or refused database connection looks like to asyncpg.
DATABASE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


@dataclass(slots=True)
class _Pending:
    update: NewUpdate
    on_saved: Callable[[int | None], None]
    queued_at: float


class Persister:
    def __init__(
        self,
        database: Database,
        *,
        on_delayed: Callable[[bool], None] = lambda delayed: None,
        on_commit: Callable[[list[tuple[NewUpdate, int]]], None] = lambda saved: None,
    ) -> None:
        self.database = database
        self.on_delayed = on_delayed
        self.on_commit = on_commit
        self.delayed = False
        self.saved_total = 0
        self.save_latency = Histogram(SAVE_BUCKETS)
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    @property
    def backlog(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="carnet-persister")

    async def stop(self) -> None:
        """Write everything still queued, then stop."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def save(
        self, note_id: str, data: bytes, user_id: str | None, on_saved: Callable[[int | None], None]
    ) -> None:
        self._queue.append(_Pending(NewUpdate(note_id, data, user_id), on_saved, time.monotonic()))
        self._idle.clear()
        self._wake.set()

    async def drain(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._idle.wait()

    async def _run(self) -> None:
        attempt = 0
        while True:
            if not self._queue:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue[i] for i in range(min(MAX_BATCH, len(self._queue)))]
            try:
                # One statement: its own transaction, one round trip.
                async with self.database.connection() as conn:
                    seqs = await append_updates(conn, [pending.update for pending in batch])
            except DATABASE_ERRORS as error:
                if not self.delayed:
                    logger.warning("saving delayed, database error: %r", error)
                    self.delayed = True
                # At every retry, not only the first: whoever wrote since is told too.
                self.on_delayed(True)
                await asyncio.sleep(_BACKOFF[min(attempt, len(_BACKOFF) - 1)])
                attempt += 1
                continue
            attempt = 0
            for _ in batch:
                self._queue.popleft()
            if self.delayed:
                logger.warning("saving resumed")
                self.delayed = False
                self.on_delayed(False)
            now = time.monotonic()
            self.saved_total += len(batch)
            for pending, seq in zip(batch, seqs, strict=True):
                self.save_latency.observe(now - pending.queued_at)
                try:
                    pending.on_saved(seq)
                except Exception:
                    logger.exception("on_saved callback failed")
            self.on_commit(
                [(p.update, seq) for p, seq in zip(batch, seqs, strict=True) if seq is not None]
            )
