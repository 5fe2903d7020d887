"""``/ws/notes/{note_id}``: the thin adapter between a WebSocket and a room.

It authenticates the handshake, decides editor or viewer, feeds decoded
frames to the room, and writes what the room sends through a bounded queue,
so one slow client never stalls the others: past the bound it is cut off
(code 4408) and resyncs when it reconnects. The query ``?mode=view`` makes the
connection a viewer whatever the person's rights (pages that only show the
text live, such as a carnet's excerpts or the projector).

Close codes: 4400 malformed frame, 4401 sign-in needed, 4403 forbidden
(including a cookie handshake from a foreign Origin), 4404 unknown or
invisible note, 4408 too slow, 4413 too large, 4429 too many connections or
frames, 4503 storage unavailable (retry).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import Any, TypeAlias

from litestar import WebSocket, websocket
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect
from litestar.params import FromPath
from litestar.types import WebSocketCloseEvent, WebSocketSendEvent

from carnet import logs as log_context
from carnet.auth.identity import SESSION_COOKIE, Viewer, identify, origin_allowed
from carnet.config import Settings
from carnet.errors import AppError
from carnet.events import AccessChanged, Event, NoteChanged
from carnet.models import NoteStatus
from carnet.permissions import Action, Verdict, decide
from carnet.storage import Database
from carnet.storage.access import note_access
from carnet.sync import protocol as wire
from carnet.sync.direct import DirectWriter
from carnet.sync.limits import TokenBucket
from carnet.sync.persistence import DATABASE_ERRORS
from carnet.sync.room import (
    CLOSE_BAD_FRAME,
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_LARGE,
    CLOSE_TOO_MANY,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNAVAILABLE,
    Close,
    Peer,
    Room,
)
from carnet.sync.rooms import Rooms

logger = logging.getLogger(__name__)

Socket: TypeAlias = WebSocket[Any, Any, State]

MAX_ID_LENGTH = 64


class SocketPeer:
    """A connection's side of the room: a bounded outgoing queue and its writer."""

    __slots__ = (
        "_queue",
        "_queued_bytes",
        "_wake",
        "announced",
        "byte_limit",
        "closing",
        "credentials",
        "direct",
        "editor",
        "limit",
        "name",
        "reader",
        "saved_count",
        "socket",
        "unsaved",
        "user_id",
        "view_only",
    )

    def __init__(
        self,
        socket: Socket,
        viewer: Viewer,
        editor: bool,
        limit: int,
        view_only: bool = False,
        byte_limit: int = 8 * 1024 * 1024,
    ) -> None:
        self.socket = socket
        self.user_id = viewer.user_id
        self.name = viewer.user.name if viewer.user else ""
        # Asked to watch only (``?mode=view``): never an editor, whatever the rights.
        self.view_only = view_only
        self.editor = editor and not view_only
        self.limit = limit
        self.byte_limit = byte_limit
        self.saved_count = 0
        self.unsaved = 0
        self.announced: set[int] = set()
        self.credentials: tuple[dict[str, str], dict[str, str]] = ({}, {})
        self._queue: deque[bytes] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self.closing: Close | None = None
        self.reader: asyncio.Task[None] | None = None
        self.direct = DirectWriter.for_scope(socket.scope)

    def send(self, frame: bytes) -> None:
        if self.closing is not None:
            return
        direct = self.direct
        # Straight to the transport when nothing is queued before it (order holds).
        if direct is not None and not self._queue and direct.ready():
            if direct.buffered() > self.byte_limit:
                self.close(Close(CLOSE_TOO_SLOW, "too slow, reconnect to resync"))
            else:
                direct.write(frame)
            return
        if len(self._queue) >= self.limit or self._queued_bytes > self.byte_limit:
            self.close(Close(CLOSE_TOO_SLOW, "too slow, reconnect to resync"))
            return
        self._queue.append(frame)
        self._queued_bytes += len(frame)
        self._wake.set()

    def close(self, reason: Close) -> None:
        if self.closing is None:
            self.closing = reason
            if reason.code == CLOSE_TOO_SLOW:
                self._queue.clear()  # stale: it resyncs when it reconnects
                self._queued_bytes = 0
            self._wake.set()
            # Leave the room now, not when the client next speaks: one that stopped
            # reading may never send anything again.
            if self.reader is not None and self.reader is not asyncio.current_task():
                self.reader.cancel()

    async def write(self) -> None:
        """Write queued frames until asked to close; then close the socket.

        A client that vanished makes ``send`` fail: the writer just stops, and
        the reader sees the disconnect.
        """
        send = self.socket.send
        queue = self._queue
        try:
            while True:
                while queue:
                    frame = queue.popleft()
                    self._queued_bytes -= len(frame)
                    message: WebSocketSendEvent = {
                        "type": "websocket.send",
                        "bytes": frame,
                        "text": None,
                    }
                    await send(message)
                if self.closing is not None:
                    close: WebSocketCloseEvent = {
                        "type": "websocket.close",
                        "code": self.closing.code,
                        "reason": self.closing.reason,
                    }
                    await send(close)
                    return
                self._wake.clear()
                await self._wake.wait()
        except (OSError, RuntimeError, WebSocketDisconnect):
            self.closing = self.closing or Close(1006, "gone")
            queue.clear()
            self._queued_bytes = 0


async def _refuse(socket: Socket, code: int, reason: str) -> None:
    await socket.accept()
    await socket.close(code=code, reason=reason)


def _credentials(socket: Socket) -> tuple[dict[str, str], dict[str, str]]:
    """What identified the connection, kept to check its rights again later."""
    headers = {k: v for k, v in socket.headers.items() if k == "authorization"}
    cookies = {k: v for k, v in socket.cookies.items() if k == SESSION_COOKIE}
    return headers, cookies


async def _admit(
    database: Database, note_id: str, headers: dict[str, str], cookies: dict[str, str]
) -> tuple[Viewer, bool]:
    """Who is connecting and whether they may edit; raises :class:`Close` if refused."""
    try:
        async with database.connection() as conn:
            viewer = await identify(conn, headers, cookies)
            found = await note_access(conn, note_id, viewer.user_id)
    except AppError as error:
        raise Close(CLOSE_UNAUTHENTICATED, error.en) from None
    except DATABASE_ERRORS:
        raise Close(CLOSE_UNAVAILABLE, "storage unavailable, retry") from None
    if found is None or decide(Action.NOTE_VIEW, found[0]) is not Verdict.ALLOW:
        raise Close(CLOSE_NOT_FOUND, "note not found")
    access, status = found
    editor = decide(Action.NOTE_EDIT, access) is Verdict.ALLOW and status is NoteStatus.DRAFT
    return viewer, editor


@websocket("/ws/notes/{note_id:str}", name="note-socket")
async def note_socket(socket: Socket, note_id: FromPath[str]) -> None:
    state: State = socket.app.state
    settings: Settings = state.settings
    database: Database = state.database
    rooms: Rooms = state.rooms
    limits = rooms.limits

    if len(note_id) > MAX_ID_LENGTH:
        await _refuse(socket, CLOSE_NOT_FOUND, "note not found")
        return
    log_context.note_id.set(note_id)
    headers, cookies = _credentials(socket)
    try:
        viewer, editor = await _admit(database, note_id, headers, cookies)
    except Close as refusal:
        await _refuse(socket, refusal.code, refusal.reason)
        return
    origin = socket.headers.get("origin")
    if viewer.session_token and origin is not None and not origin_allowed(origin, settings.origins):
        await _refuse(socket, CLOSE_FORBIDDEN, "cross-origin cookie handshake")
        return
    if not rooms.admit(note_id, viewer.user_id):
        await _refuse(socket, CLOSE_TOO_MANY, "too many connections")
        return
    try:
        try:
            room = await rooms.open(note_id)
        except DATABASE_ERRORS:
            await _refuse(socket, CLOSE_UNAVAILABLE, "storage unavailable, retry")
            return
        await socket.accept()
        # ``?mode=view``: a page that only shows the text (a carnet's live excerpts,
        # the projector) joins as a viewer, so it is not counted among the writers.
        view_only = socket.query_params.get("mode") == "view"
        peer = SocketPeer(
            socket, viewer, editor, limits.send_queue_frames, view_only, limits.send_queue_bytes
        )
        peer.credentials = (headers, cookies)
        writer = asyncio.create_task(peer.write())
        room.join(peer)
        reading = asyncio.ensure_future(_read(socket, room, peer, rooms))
        peer.reader = reading
        try:
            await asyncio.wait({reading})
            if not reading.cancelled():
                reading.result()
        finally:
            reading.cancel()
            rooms.leave(room, peer)
            if not writer.done():
                peer.close(Close(1000, "bye"))
                # A client cut off for being slow gets the close frame only if it
                # reads again: give it that long.
                grace = 10 if peer.closing and peer.closing.code == CLOSE_TOO_SLOW else 1
                try:
                    async with asyncio.timeout(grace):
                        await writer
                except TimeoutError:
                    writer.cancel()
    finally:
        rooms.release(note_id, viewer.user_id)


class RightsWatcher:
    """Applies changes of status and rights to open sockets at once.

    A finalised note turns read-only, a deleted one closes, and after any
    change of membership, visibility or tokens every affected connection is
    checked again as if it were connecting now.
    """

    def __init__(self, rooms: Rooms, database: Database) -> None:
        self.rooms = rooms
        self.database = database
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, event: Event) -> None:
        match event:
            case NoteChanged(action="deleted", note_id=note_id):
                if room := self.rooms.rooms.get(note_id):
                    room.close_all(Close(CLOSE_NOT_FOUND, "note deleted"))
            case NoteChanged(action="updated", note_id=note_id, status=status):
                if room := self.rooms.rooms.get(note_id):
                    room.set_read_only(status != NoteStatus.DRAFT)
                    self._recheck([(room, peer) for peer in room.peers])
            case NoteChanged(note_id=note_id):
                if room := self.rooms.rooms.get(note_id):
                    self._recheck([(room, peer) for peer in room.peers])
            case AccessChanged(user_id=user_id, note_id=note_id):
                self._recheck(
                    [
                        (room, peer)
                        for room in self.rooms.rooms.values()
                        if note_id is None or room.note_id == note_id
                        for peer in room.peers
                        if user_id is None or peer.user_id == user_id
                    ]
                )

    def _recheck(self, targets: list[tuple[Room, Peer]]) -> None:
        if targets:
            task = asyncio.create_task(self._check(targets))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _signed_out(self, peer: SocketPeer) -> bool:
        """True when the socket's credentials no longer name the person who opened it."""
        if peer.user_id is None:
            return False
        try:
            async with self.database.connection() as conn:
                viewer = await identify(conn, *peer.credentials)
        except AppError:
            return True
        except DATABASE_ERRORS:
            return False
        return viewer.user_id != peer.user_id

    async def _check(self, targets: list[tuple[Room, Peer]]) -> None:
        for room, peer in targets:
            if not isinstance(peer, SocketPeer) or peer.closing is not None:
                continue
            try:
                viewer, editor = await _admit(self.database, room.note_id, *peer.credentials)
            except Close as refusal:
                if refusal.code == CLOSE_NOT_FOUND and await self._signed_out(peer):
                    # An ended session reads as an anonymous visit: say why it closes.
                    refusal = Close(CLOSE_UNAUTHENTICATED, "signed out")
                if refusal.code != CLOSE_UNAVAILABLE:
                    peer.close(refusal)
                continue
            if viewer.user_id != peer.user_id:
                peer.close(Close(CLOSE_UNAUTHENTICATED, "signed out"))
            else:
                room.set_editor(peer, editor and not peer.view_only)


async def _read(socket: Socket, room: Room, peer: SocketPeer, rooms: Rooms) -> None:
    limits = rooms.limits
    now = time.monotonic()
    frames = TokenBucket(limits.frames_per_second, limits.frame_burst, now)
    volume = TokenBucket(limits.bytes_per_second, limits.byte_burst, now)
    receive = socket.receive
    while peer.closing is None:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        frame = event.get("bytes")
        if not isinstance(frame, bytes):
            peer.close(Close(CLOSE_BAD_FRAME, "binary frames only"))
            return
        now = time.monotonic()
        if len(frame) > limits.max_frame_bytes:
            peer.close(Close(CLOSE_TOO_LARGE, "frame too large"))
            return
        if not frames.take(1, now) or not volume.take(len(frame), now):
            peer.close(Close(CLOSE_TOO_MANY, "too many frames, slow down"))
            return
        try:
            room.receive(peer, wire.decode(frame))
        except wire.ProtocolError as error:
            peer.close(Close(CLOSE_BAD_FRAME, f"malformed frame: {error}"[:120]))
            return
        except Close as close:
            peer.close(close)
            return
