"""The rooms of one process: loading, unloading, compaction and revisions.

A room is loaded from PostgreSQL (snapshot, then the log rows after it)
before any client is answered; clients that arrive while it loads wait for
the same load. When the last client leaves, the room waits a little, makes
sure everything is saved, folds the log into a snapshot and goes away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

import pycrdt

from carnet.models import NoteStatus
from carnet.storage import Database, notes
from carnet.storage import documents as store
from carnet.sync import protocol as wire
from carnet.sync.limits import Limits
from carnet.sync.persistence import DATABASE_ERRORS, Persister
from carnet.sync.room import Peer, Room, integrate

logger = logging.getLogger(__name__)


def load_doc(stored: store.StoredDocument) -> tuple[pycrdt.Doc[Any], list[bytes]]:
    """The stored document, and the log rows still waiting for their causal parents."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    if stored.snapshot is not None:
        doc.apply_update(stored.snapshot)
    for update in stored.updates:
        doc.apply_update(update)
    return doc, integrate(doc, stored.updates)


def build_doc(stored: store.StoredDocument) -> pycrdt.Doc[Any]:
    return load_doc(stored)[0]


class Fanout(Protocol):
    """How rooms reach their copies in other server processes (see carnet.fanout)."""

    on_remote: Callable[[str, int, int, bytes], None]
    on_reconnect: Callable[[], None]

    def note_opened(self, note_id: str) -> None: ...

    def note_closed(self, note_id: str) -> None: ...

    def publish_update(self, note_id: str, seq: int, update: bytes) -> None: ...

    def publish_presence(self, note_id: str, payload: bytes) -> None: ...


REMOTE_PRESENCE_TTL = 40.0
GAP_GRACE = 0.2


class Rooms:
    def __init__(
        self,
        database: Database,
        limits: Limits | None = None,
        *,
        on_presence: Callable[[Room], None] | None = None,
        fanout: Fanout | None = None,
    ) -> None:
        self.database = database
        self.limits = limits or Limits()
        self.on_presence = on_presence
        self.fanout = fanout
        self.persister = Persister(
            database, on_delayed=self._saving_delayed, on_commit=self._committed
        )
        if fanout is not None:
            fanout.on_remote = self._remote
            fanout.on_reconnect = self._catch_up_all
        self.rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unload_timers: dict[str, asyncio.TimerHandle] = {}
        self._pause_timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._compacting: set[str] = set()
        self.loads = 0
        self.catch_ups = 0
        self._activity_told: dict[str, float] = {}
        self._per_note: dict[str, int] = {}
        self._per_user: dict[str, int] = {}

    def start(self) -> None:
        self.persister.start()

    async def close(self) -> None:
        """Flush every room (graceful shutdown): nothing accepted is left unsaved."""
        for note_id in list(self.rooms):
            await self._unload(note_id, force=True)
        await self.persister.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # Opening -----------------------------------------------------------------------

    def admit(self, note_id: str, user_id: str | None) -> bool:
        """Count a new connection, unless it would pass a limit."""
        if self._per_note.get(note_id, 0) >= self.limits.max_connections_per_note:
            return False
        if user_id and self._per_user.get(user_id, 0) >= self.limits.max_connections_per_user:
            return False
        self._per_note[note_id] = self._per_note.get(note_id, 0) + 1
        if user_id:
            self._per_user[user_id] = self._per_user.get(user_id, 0) + 1
        return True

    def release(self, note_id: str, user_id: str | None) -> None:
        for counts, key in ((self._per_note, note_id), (self._per_user, user_id)):
            if key is not None:
                counts[key] -= 1
                if not counts[key]:
                    del counts[key]

    async def open(self, note_id: str) -> Room:
        room = self.rooms.get(note_id)
        if room is not None:
            self._cancel_unload(note_id)
            return room
        loading = self._loading.get(note_id)
        if loading is None:
            loading = asyncio.get_running_loop().create_future()
            self._loading[note_id] = loading
            if self.fanout is not None:
                # Subscribe first: what is published while we load is not missed.
                self.fanout.note_opened(note_id)
            try:
                room = await self._load(note_id)
            except BaseException as error:
                loading.set_exception(error)
                loading.exception()  # retrieved: waiters re-raise it themselves
                raise
            finally:
                del self._loading[note_id]
            self.rooms[note_id] = room
            loading.set_result(room)
            if self.fanout is not None:
                self._spawn(self.catch_up(room))
            return room
        return await asyncio.shield(loading)

    async def _load(self, note_id: str) -> Room:
        async with self.database.connection() as conn:
            stored = await store.load_document(conn, note_id)
            status = await notes.note_status(conn, note_id)
        self.loads += 1
        doc, pending = load_doc(stored)
        room = Room(
            note_id=note_id,
            doc=doc,
            save=self.persister.save,
            limits=self.limits,
            seq=stored.last_seq,
            log_rows=len(stored.updates),
            log_bytes=stored.log_bytes,
            approx_size=len(stored.snapshot or b"") + stored.log_bytes,
            on_change=self._presence_changed,
            on_saved=self._room_saved,
            on_presence=self._local_presence if self.fanout else None,
            read_only=status is not NoteStatus.DRAFT,
            # Structs still waiting for their parents: no snapshot may drop them.
            pending=pending,
        )
        if stored.updates and (
            len(stored.updates) >= self.limits.compact_rows
            or stored.log_bytes >= self.limits.compact_bytes
        ):
            # A long log makes every cold open slow: fold it now.
            self._spawn(self._compact(room))
        return room

    async def apply_server_update(self, note_id: str, update: bytes, user_id: str | None) -> None:
        """Apply a change made by the server (a restore) and wait until it is saved."""
        room = self.rooms.get(note_id)
        if room is not None:
            room.apply(update, user_id, origin=None)
        else:
            self.persister.save(note_id, update, user_id, lambda seq: None)
        await self.persister.drain()

    # Leaving -----------------------------------------------------------------------

    def leave(self, room: Room, peer: Peer) -> None:
        """A connection closed; a co-author who wrote something leaves a revision behind."""
        room.leave(peer)
        if peer.editor and peer.user_id in room.contributors:
            others = {other.user_id for other in room.peers if other.editor}
            if peer.user_id not in others:
                self._spawn(self._revision(room, "leave"))

    def _presence_changed(self, room: Room) -> None:
        if not room.peers:
            self._schedule_unload(room.note_id)
        if self.on_presence:
            self.on_presence(room)

    def _schedule_unload(self, note_id: str) -> None:
        self._cancel_unload(note_id)
        loop = asyncio.get_running_loop()
        self._unload_timers[note_id] = loop.call_later(
            self.limits.idle_unload_seconds, lambda: self._spawn(self._unload(note_id))
        )

    def _cancel_unload(self, note_id: str) -> None:
        timer = self._unload_timers.pop(note_id, None)
        if timer is not None:
            timer.cancel()

    async def _unload(self, note_id: str, *, force: bool = False) -> None:
        self._cancel_unload(note_id)
        room = self.rooms.get(note_id)
        if room is None or (room.peers and not force):
            return
        await self.persister.drain()
        if room.peers and not force:
            return  # someone came back while we were saving
        await self._revision(room, "leave" if not force else "pause")
        await self._compact(room)
        if self.rooms.get(note_id) is room and (force or not room.peers):
            del self.rooms[note_id]
            self._activity_told.pop(note_id, None)
            if self.fanout is not None:
                self.fanout.note_closed(note_id)
            pause = self._pause_timers.pop(note_id, None)
            if pause:
                pause.cancel()

    # Other processes -----------------------------------------------------------------

    def _committed(self, saved: list[tuple[store.NewUpdate, int]]) -> None:
        for room in self.rooms.values():
            room.flush_acks()
        if self.fanout is not None:
            for update, seq in saved:
                self.fanout.publish_update(update.note_id, seq, update.data)

    def _local_presence(self, room: Room, payload: bytes) -> None:
        if self.fanout is not None:
            self.fanout.publish_presence(room.note_id, payload)

    def _remote(self, note_id: str, kind: int, seq: int, payload: bytes) -> None:
        room = self.rooms.get(note_id)
        if room is None:
            return
        if kind == 1:
            room.expire_remote_presence(REMOTE_PRESENCE_TTL)
            room.apply_remote_presence(payload)
            return
        room.apply_remote(payload, seq)
        if room.has_gap:
            # Pub/sub lost something, or it is merely late: look again shortly.
            loop = asyncio.get_running_loop()
            loop.call_later(GAP_GRACE, lambda: self._spawn(self._heal(room)))

    async def _heal(self, room: Room) -> None:
        if room.has_gap and self.rooms.get(room.note_id) is room:
            await self.catch_up(room)

    def _catch_up_all(self) -> None:
        for room in list(self.rooms.values()):
            self._spawn(self.catch_up(room))

    async def catch_up(self, room: Room) -> None:
        """Apply from PostgreSQL whatever the room missed."""
        self.catch_ups += 1
        try:
            async with self.database.connection() as conn:
                rows = await store.updates_after(conn, room.note_id, room.seq)
                stored = await store.load_document(conn, room.note_id) if rows is None else None
        except DATABASE_ERRORS as error:
            logger.warning("catch-up of %s failed: %r", room.note_id, error)
            return
        if stored is not None:
            # A snapshot folded rows we never saw: merge the whole stored state.
            room.apply_stored(stored)
            return
        assert rows is not None
        for seq, update in rows:
            room.apply_remote(update, seq)

    # Saving, compaction, revisions ---------------------------------------------------

    def _saving_delayed(self, delayed: bool) -> None:
        if not delayed:
            return  # the "saved" acknowledgements that follow say it
        for room in self.rooms.values():
            for peer in room.peers:
                if peer.unsaved:
                    peer.send(wire.encode(wire.SaveDelayed(peer.unsaved)))

    def _room_saved(self, room: Room) -> None:
        now = asyncio.get_running_loop().time()
        if self.on_presence and now - self._activity_told.get(room.note_id, 0.0) > 2.0:
            # Tells the carnet page (and its projector mode) which note moves.
            self._activity_told[room.note_id] = now
            self.on_presence(room)
        self._maybe_compact(room)
        timer = self._pause_timers.pop(room.note_id, None)
        if timer:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._pause_timers[room.note_id] = loop.call_later(
            self.limits.revision_pause_seconds,
            lambda: self._spawn(self._revision(room, "pause")),
        )

    def _maybe_compact(self, room: Room) -> None:
        limits = self.limits
        long_log = room.log_rows >= limits.compact_rows or room.log_bytes >= limits.compact_bytes
        if long_log and room.note_id not in self._compacting:
            self._spawn(self._compact(room))

    async def _compact(self, room: Room) -> None:
        """Fold the log into a snapshot of the room's document, if that loses nothing."""
        if room.pending or room.has_gap or room.note_id in self._compacting:
            return  # a snapshot would drop structs still waiting for their parents
        if room.log_rows == 0:
            return
        self._compacting.add(room.note_id)
        folded = False
        try:
            seq = room.seq
            state = room.doc.get_update()
            async with self.database.connection() as conn:
                folded = await store.save_snapshot(conn, room.note_id, seq, state)
                room.log_rows, room.log_bytes = await store.log_size(conn, room.note_id)
            room.approx_size = len(state) + room.log_bytes
        except Exception:
            logger.exception("compaction of %s failed; the log is intact", room.note_id)
        finally:
            self._compacting.discard(room.note_id)
        if folded and self.rooms.get(room.note_id) is room:
            self._maybe_compact(room)  # for the rows saved while this one ran

    async def _revision(self, room: Room, reason: str, created_by: str | None = None) -> None:
        if not room.contributors and reason in ("pause", "leave"):
            return
        contributors = sorted(room.contributors)
        room.contributors.clear()
        try:
            async with self.database.transaction() as conn:
                await store.add_revision(
                    conn,
                    room.note_id,
                    seq=room.seq,
                    state=room.doc.get_update(),
                    reason=reason,
                    contributors=contributors,
                    created_by=created_by,
                )
        except Exception:
            room.contributors.update(contributors)
            logger.exception("revision of %s failed", room.note_id)

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
