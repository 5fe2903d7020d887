"""One open note: its document, its connections, presence, and what to send to whom.

The room is the sans-IO heart of live co-writing. It takes decoded frames
from :class:`Peer` objects and answers by calling ``peer.send(frame)``; it
never touches a socket or the database. Persistence is a callable handed in
(:class:`SaveUpdate`) that answers later through a callback, which is how the
"saved" acknowledgement reaches the sender only after the commit.

Editors get every update at once (the sender too: newer clients take the echo
as confirmation). Viewers get updates merged into one frame per
``viewer_interval`` seconds, so a whole audience costs one encode per tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pycrdt

from carnet.storage.documents import StoredDocument
from carnet.sync import protocol as wire
from carnet.sync.limits import Limits

logger = logging.getLogger(__name__)


def _waiting(update: bytes, state: bytes, have: dict[int, int]) -> bool:
    """Whether part of ``update`` is not yet integrated in a document at ``state`` (``have``)."""
    rest = pycrdt.get_update(update, state)
    if wire.update_has_structs(rest):
        return True
    return any(
        clock + length > have.get(client, 0)
        for client, clock, length in wire.delete_set_ranges(rest)
    )


def integrate(doc: pycrdt.Doc[Any], updates: list[bytes]) -> list[bytes]:
    """Apply again those of ``updates`` not wholly in ``doc``; return what still waits.

    pycrdt 0.14 (yrs) leaves an update pending for good when it arrived after
    another pending one of the same client and the gap before both is filled
    later (updates 0, 2, 4, then 1: 4 never integrates, while Yjs integrates
    every order). Applying the waiting ones again until nothing moves fixes it.
    """
    state = doc.get_state()
    have = wire.decode_state_vector(state)
    waiting = [update for update in updates if _waiting(update, state, have)]
    while waiting:
        for update in waiting:
            doc.apply_update(update)
        state = doc.get_state()
        have = wire.decode_state_vector(state)
        still = [update for update in waiting if _waiting(update, state, have)]
        if len(still) == len(waiting):
            break
        waiting = still
    return waiting


class Close(Exception):
    """Raised by the room to have the adapter close one connection."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# Close codes sent to clients (documented in docs/protocol.md).
CLOSE_BAD_FRAME = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_SLOW = 4408
CLOSE_TOO_LARGE = 4413
CLOSE_TOO_MANY = 4429
CLOSE_ROOM_CLOSED = 4410
CLOSE_UNAVAILABLE = 4503


class Peer(Protocol):
    """A connection as the room sees it."""

    user_id: str | None
    name: str
    editor: bool
    saved_count: int
    unsaved: int
    announced: set[int]

    def send(self, frame: bytes) -> None:
        """Queue a frame; never blocks (the adapter drops a peer that cannot keep up)."""

    def close(self, reason: Close) -> None:
        """Send what is queued, then close the connection with ``reason``."""


SaveUpdate = Callable[[str, bytes, "str | None", Callable[[int | None], None]], None]
"""``save(note_id, update, user_id, on_saved)``: persist; call ``on_saved(seq)`` after commit."""


@dataclass
class _Presence:
    clock: int
    state: str
    owner: Peer | None
    """None for a client connected to another server process."""
    seen: float = 0.0


@dataclass
class Room:
    note_id: str
    doc: pycrdt.Doc[Any]
    save: SaveUpdate
    limits: Limits
    seq: int = 0
    """Every log row up to this sequence number is in ``doc``."""
    log_rows: int = 0
    log_bytes: int = 0
    read_only: bool = False
    approx_size: int = 0
    peers: set[Peer] = field(default_factory=set)
    presence: dict[int, _Presence] = field(default_factory=dict)
    contributors: set[str] = field(default_factory=set)
    last_edit: float = 0.0
    unsaved: int = 0
    pending: list[bytes] = field(default_factory=list)
    """Updates not wholly integrated: their causal parents have not arrived yet."""
    on_change: Callable[[Room], None] | None = None
    on_saved: Callable[[Room], None] | None = None
    on_presence: Callable[[Room, bytes], None] | None = None
    """Called with each awareness payload accepted from a local editor (for other processes)."""
    _viewer_updates: list[bytes] = field(default_factory=list)
    _viewer_presence: dict[int, wire.AwarenessEntry] = field(default_factory=dict)
    _viewer_flush: asyncio.TimerHandle | None = None
    _applied_beyond: set[int] = field(default_factory=set)
    _unacknowledged: set[Peer] = field(default_factory=set)

    # Joining and leaving ----------------------------------------------------

    @property
    def editors(self) -> int:
        return sum(1 for peer in self.peers if peer.editor)

    @property
    def viewers(self) -> int:
        return len(self.peers) - self.editors

    def join(self, peer: Peer) -> None:
        """Greet a new connection: our SyncStep1, then who is here."""
        self.peers.add(peer)
        peer.send(wire.encode_sync_step1(self.doc.get_state()))
        if self.presence:
            peer.send(self._presence_frame(self.presence.items()))
        if self.on_change:
            self.on_change(self)

    def leave(self, peer: Peer) -> None:
        """Forget a connection and remove the presence it announced."""
        self.peers.discard(peer)
        removed = []
        for client_id in peer.announced:
            current = self.presence.get(client_id)
            if current is not None and current.owner is peer:
                del self.presence[client_id]
                removed.append(wire.AwarenessEntry(client_id, current.clock, "null"))
        if removed:
            self._broadcast_presence(removed, exclude=None)
            if self.on_presence:
                self.on_presence(self, wire.encode_awareness(removed))
        if self.on_change:
            self.on_change(self)

    # Frames -------------------------------------------------------------------

    def receive(self, peer: Peer, message: wire.Message) -> None:
        """Handle one decoded frame from ``peer``; raises :class:`Close` to drop it."""
        match message:
            case wire.SyncStep1(state_vector):
                try:
                    reply = self.doc.get_update(state_vector)
                except Exception:  # pycrdt raises several types on a bad state vector
                    raise Close(CLOSE_BAD_FRAME, "invalid state vector") from None
                peer.send(wire.encode_sync_step2(reply))
                # get_update() leaves out what waits for its causal parents (DESIGN §4):
                # send it as it came, or this client never gets it.
                for update in self.pending:
                    peer.send(wire.encode_sync_update(update))
            case wire.SyncStep2(update) | wire.SyncUpdate(update):
                self._receive_update(peer, update)
            case wire.AwarenessMessage(payload):
                self._receive_presence(peer, payload)
            case wire.QueryAwareness():
                if self.presence:
                    peer.send(self._presence_frame(self.presence.items()))
            case _:
                # Auth and Carnet messages only ever go from server to client.
                raise Close(CLOSE_BAD_FRAME, "unexpected message from client")

    def _receive_update(self, peer: Peer, update: bytes) -> None:
        if wire.is_empty_update(update):
            return
        try:
            inserts = wire.update_has_structs(update)
        except wire.ProtocolError:
            raise Close(CLOSE_BAD_FRAME, "malformed update") from None
        if not peer.editor or self.read_only:
            # Standard clients answer our SyncStep1 even when read-only; a diff
            # that only repeats deletions they learned from us changes nothing.
            if inserts:
                peer.send(wire.encode(wire.PermissionDenied("read-only")))
            return
        if self.approx_size + len(update) > self.limits.max_document_bytes:
            peer.send(
                wire.encode(wire.Status("document_too_large", "this note reached its size limit"))
            )
            raise Close(CLOSE_TOO_LARGE, "document too large")
        self.apply(update, peer.user_id, origin=peer)

    def apply(self, update: bytes, user_id: str | None, origin: Peer | None) -> None:
        """Integrate an update, share it and persist it.

        ``origin`` is the editor that sent it (it will get the "saved"
        acknowledgement); None for updates made by the server itself.
        """
        try:
            self.doc.apply_update(update)  # decodes the whole update before changing anything
        except Exception:
            raise Close(CLOSE_BAD_FRAME, "update rejected") from None
        self._track_pending(update)
        self.approx_size += len(update)
        self.last_edit = time.monotonic()
        if user_id:
            self.contributors.add(user_id)
        self._broadcast_update(update)
        self.unsaved += 1
        if origin is not None:
            origin.unsaved += 1
        size = len(update)
        self.save(self.note_id, update, user_id, lambda seq: self._saved(origin, seq, size))

    def _saved(self, origin: Peer | None, seq: int | None, size: int) -> None:
        self.unsaved -= 1
        if seq is not None:
            self.log_rows += 1
            self.log_bytes += size
            self.mark_applied(seq)
        if origin is not None:
            origin.unsaved -= 1
            origin.saved_count += 1
            self._unacknowledged.add(origin)
        if self.on_saved:
            self.on_saved(self)

    def flush_acks(self) -> None:
        """Tell each editor what is now saved: one message per connection per commit."""
        acknowledged, self._unacknowledged = self._unacknowledged, set()
        for peer in acknowledged:
            if peer in self.peers:
                peer.send(wire.encode(wire.Saved(peer.saved_count, self.seq)))

    def apply_remote(self, update: bytes, seq: int) -> None:
        """An update another process committed as ``seq``: share it here, do not save it again."""
        if seq <= self.seq or seq in self._applied_beyond:
            return
        try:
            self.doc.apply_update(update)
        except Exception:
            logger.exception("update %s of %s from another process rejected", seq, self.note_id)
            return
        self._track_pending(update)
        self.approx_size += len(update)
        self.log_rows += 1
        self.log_bytes += len(update)
        self.last_edit = time.monotonic()
        self._broadcast_update(update)
        self.mark_applied(seq)

    def apply_stored(self, stored: StoredDocument) -> None:
        """Merge a whole stored document (snapshot and log) and jump to its sequence number."""
        before = self.doc.get_state()
        pieces = [stored.snapshot, *stored.updates] if stored.snapshot else stored.updates
        for update in pieces:
            self.doc.apply_update(update)
            self._track_pending(update)
        self._broadcast_update(self.doc.get_update(before))
        self.seq = max(self.seq, stored.last_seq)
        self._applied_beyond = {seq for seq in self._applied_beyond if seq > self.seq}
        self._advance()

    def mark_applied(self, seq: int) -> None:
        """Record that log row ``seq`` is in the document; advance ``self.seq`` over any run."""
        if seq > self.seq:
            self._applied_beyond.add(seq)
            self._advance()

    def _advance(self) -> None:
        while self.seq + 1 in self._applied_beyond:
            self.seq += 1
            self._applied_beyond.discard(self.seq)

    @property
    def has_gap(self) -> bool:
        return bool(self._applied_beyond)

    def _track_pending(self, update: bytes) -> None:
        """Remember updates whose causal parents have not arrived (see DESIGN §4).

        The document keeps such structs and deletions aside, and ``get_update()``
        leaves them out, so no snapshot may be taken while any remain.
        """
        self.pending = integrate(self.doc, [*self.pending, update])

    def _broadcast_update(self, update: bytes) -> None:
        frame = wire.encode_sync_update(update)
        for peer in self.peers:
            if peer.editor:
                peer.send(frame)
        if self.viewers:
            self._viewer_updates.append(update)
            self._schedule_viewer_flush()

    # Presence -------------------------------------------------------------------

    def _receive_presence(self, peer: Peer, payload: bytes) -> None:
        if not peer.editor:
            return  # viewers are counted, not shown
        try:
            entries = wire.decode_awareness(payload)
        except wire.ProtocolError:
            raise Close(CLOSE_BAD_FRAME, "malformed awareness") from None
        accepted = []
        for entry in entries:
            current = self.presence.get(entry.client_id)
            if current is not None and current.owner is not peer:
                continue  # another connection's client id
            if entry.client_id not in peer.announced:
                if len(peer.announced) >= self.limits.max_presence_per_connection:
                    continue
                peer.announced.add(entry.client_id)
            if entry.removed:
                self.presence.pop(entry.client_id, None)
            else:
                self.presence[entry.client_id] = _Presence(entry.clock, entry.state, peer)
            accepted.append(entry)
        if accepted:
            self._broadcast_presence(accepted, exclude=None)
            if self.on_presence:
                self.on_presence(self, wire.encode_awareness(accepted))

    def apply_remote_presence(self, payload: bytes) -> None:
        """Presence relayed from another process (already checked there)."""
        entries = wire.decode_awareness(payload)
        now = time.monotonic()
        accepted = []
        for entry in entries:
            current = self.presence.get(entry.client_id)
            if current is not None and current.owner is not None:
                continue
            if entry.removed:
                self.presence.pop(entry.client_id, None)
            else:
                self.presence[entry.client_id] = _Presence(entry.clock, entry.state, None, now)
            accepted.append(entry)
        if accepted:
            self._broadcast_presence(accepted, exclude=None)

    def expire_remote_presence(self, older_than: float) -> None:
        """Forget presence from other processes not renewed lately (that process may be gone)."""
        cutoff = time.monotonic() - older_than
        stale = [
            client_id
            for client_id, presence in self.presence.items()
            if presence.owner is None and presence.seen < cutoff
        ]
        for client_id in stale:
            del self.presence[client_id]

    def _presence_frame(self, items: Iterable[tuple[int, _Presence]]) -> bytes:
        entries = [
            wire.AwarenessEntry(client_id, presence.clock, presence.state)
            for client_id, presence in items
        ]
        return wire.encode_awareness_message(wire.encode_awareness(entries))

    def _broadcast_presence(self, entries: list[wire.AwarenessEntry], exclude: Peer | None) -> None:
        frame = wire.encode_awareness_message(wire.encode_awareness(entries))
        for peer in self.peers:
            if peer.editor and peer is not exclude:
                peer.send(frame)
        if self.viewers:
            for entry in entries:
                self._viewer_presence[entry.client_id] = entry
            self._schedule_viewer_flush()

    # Viewers --------------------------------------------------------------------

    def _schedule_viewer_flush(self) -> None:
        if self._viewer_flush is None:
            loop = asyncio.get_running_loop()
            self._viewer_flush = loop.call_later(self.limits.viewer_interval, self.flush_viewers)

    def flush_viewers(self) -> None:
        """Send viewers what happened since the last tick, merged into one frame each."""
        self._viewer_flush = None
        frames = []
        if self._viewer_updates:
            updates, self._viewer_updates = self._viewer_updates, []
            merged = updates[0] if len(updates) == 1 else pycrdt.merge_updates(*updates)
            frames.append(wire.encode_sync_update(merged))
        if self._viewer_presence:
            entries, self._viewer_presence = list(self._viewer_presence.values()), {}
            frames.append(wire.encode_awareness_message(wire.encode_awareness(entries)))
        for peer in self.peers:
            if not peer.editor:
                for frame in frames:
                    peer.send(frame)

    # Changes of rights ------------------------------------------------------------

    def set_read_only(self, read_only: bool) -> None:
        """A finalised or published note takes no more edits, from anyone."""
        if read_only == self.read_only:
            return
        self.read_only = read_only
        notice = wire.encode(
            wire.Status("read_only" if read_only else "writable", "note status changed")
        )
        for peer in self.peers:
            peer.send(notice)

    def set_editor(self, peer: Peer, editor: bool) -> None:
        """Rights changed while connected: make a viewer an editor or the reverse."""
        if peer.editor != editor:
            peer.editor = editor
            code = "writable" if editor else "read_only"
            peer.send(wire.encode(wire.Status(code, "your rights changed")))
            if self.on_change:
                self.on_change(self)

    def close_all(self, reason: Close) -> None:
        for peer in list(self.peers):
            peer.close(reason)
