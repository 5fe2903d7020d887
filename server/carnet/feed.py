"""``/ws/carnets/{carnet_id}``: a carnet page that grows live.

JSON text messages, server to client only::

    {"type": "note", "action": "created|updated|deleted|attached|detached",
     "note": {"id", "title", "status", "visibility", "type"}}
    {"type": "order"}                       reload the list (order, pins, categories)
    {"type": "presence", "note_id", "editors": [names], "viewers": n,
     "last_edit": unix time or null, "process": id}

Presence is per server process; a client sums the latest message of each
process for a note. Every process repeats its presence every few seconds, so
a page that opens late catches up and a dead process's counts expire.
Non-members hear only of public notes. Close codes are those of the note
socket (4404 unknown or invisible carnet).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, TypeAlias

import msgspec
from litestar import WebSocket, websocket
from litestar.datastructures import State
from litestar.params import FromPath

from carnet.auth.identity import identify, origin_allowed
from carnet.config import Settings
from carnet.errors import AppError
from carnet.events import AccessChanged, Event, EventBus, NoteChanged, OrderChanged, PresenceChanged
from carnet.models import Visibility
from carnet.permissions import Action, Verdict, decide
from carnet.storage import Database, notes
from carnet.storage.access import carnet_access
from carnet.sync.persistence import DATABASE_ERRORS
from carnet.sync.presence import presence_event
from carnet.sync.room import (
    CLOSE_FORBIDDEN,
    CLOSE_NOT_FOUND,
    CLOSE_TOO_SLOW,
    CLOSE_UNAUTHENTICATED,
    CLOSE_UNAVAILABLE,
)
from carnet.sync.rooms import Rooms

Socket: TypeAlias = WebSocket[Any, Any, State]

QUEUE_LIMIT = 1000
PRESENCE_HEARTBEAT = 5.0

_encoder = msgspec.json.Encoder()


def _note_message(event: NoteChanged) -> dict[str, object]:
    return {
        "type": "note",
        "action": event.action,
        "note": {
            "id": event.note_id,
            "title": event.title,
            "status": event.status,
            "visibility": event.visibility,
            "type": event.type,
        },
    }


def _presence_message(event: PresenceChanged) -> dict[str, object]:
    return {
        "type": "presence",
        "note_id": event.note_id,
        "editors": event.editors,
        "viewers": event.viewers,
        "last_edit": event.last_edit,
        "process": event.process,
    }


class _Follower:
    """One open carnet page: which notes it may hear of, and its outgoing queue."""

    def __init__(self, carnet_id: str, member: bool, note_ids: set[str]) -> None:
        self.carnet_id = carnet_id
        self.member = member
        self.note_ids = note_ids
        self.queue: asyncio.Queue[dict[str, object] | None] = asyncio.Queue(QUEUE_LIMIT)
        self.overflowed = False
        self.recheck = False
        self.user_id: str | None = None

    def push(self, message: dict[str, object] | None) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)

    def __call__(self, event: Event) -> None:
        match event:
            case NoteChanged() if self.carnet_id in event.carnet_ids:
                visible = self.member or event.visibility == Visibility.PUBLIC
                here = event.action not in ("deleted", "detached")
                if visible and here:
                    self.note_ids.add(event.note_id)
                elif event.note_id in self.note_ids:
                    self.note_ids.discard(event.note_id)
                    # It left this reader's view: tell it so, as a removal.
                    event = msgspec.structs.replace(event, action="detached")
                else:
                    return
                self.push(_note_message(event))
            case OrderChanged(carnet_id=self.carnet_id):
                self.push({"type": "order"})
            case PresenceChanged(note_id=note_id) if note_id in self.note_ids:
                self.push(_presence_message(event))
            case AccessChanged(carnet_id=carnet_id) if carnet_id in (None, self.carnet_id):
                self.recheck = True
                self.push({"type": "order"})


class _SignedOut(Exception):
    """The credentials of an open feed no longer name the person who opened it."""


async def _follow(
    database: Database, carnet_id: str, socket: Socket, *, user_id: str | None = None
) -> tuple[_Follower, str | None]:
    """Who follows the carnet and what they may hear of; ``user_id``: who opened it."""
    async with database.connection() as conn:
        try:
            viewer = await identify(conn, socket.headers, socket.cookies)
        except AppError:
            if user_id is not None:
                raise _SignedOut from None  # a revoked token
            raise
        if user_id is not None and viewer.user_id != user_id:
            raise _SignedOut  # an ended session reads as an anonymous visit
        access = await carnet_access(conn, carnet_id, viewer.user_id)
        if access is None or decide(Action.CARNET_VIEW, access) is not Verdict.ALLOW:
            raise LookupError(carnet_id)
        member = access.role is not None
        note_ids = await notes.carnet_note_ids(conn, carnet_id, member=member)
    follower = _Follower(carnet_id, member, note_ids)
    follower.user_id = viewer.user_id
    return follower, viewer.session_token


@websocket("/ws/carnets/{carnet_id:str}", name="carnet-feed")
async def carnet_feed(socket: Socket, carnet_id: FromPath[str]) -> None:
    state: State = socket.app.state
    settings: Settings = state.settings
    database: Database = state.database
    bus: EventBus = state.bus
    rooms: Rooms = state.rooms
    await socket.accept()
    try:
        follower, session_token = await _follow(database, carnet_id[:64], socket)
    except (LookupError, AppError):
        await socket.close(code=CLOSE_NOT_FOUND, reason="carnet not found")
        return
    except DATABASE_ERRORS:
        await socket.close(code=CLOSE_UNAVAILABLE, reason="storage unavailable, retry")
        return
    origin = socket.headers.get("origin")
    if session_token and origin is not None and not origin_allowed(origin, settings.origins):
        await socket.close(code=CLOSE_FORBIDDEN, reason="cross-origin cookie handshake")
        return
    stop_listening = bus.listen(follower)
    for note_id in follower.note_ids:
        if room := rooms.rooms.get(note_id):
            follower.push(_presence_message(presence_event(room, state.instance)))
    writer = asyncio.create_task(_write(socket, follower, database))
    try:
        while True:
            event = await socket.receive()
            if event["type"] == "websocket.disconnect":
                break
    finally:
        stop_listening()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)


async def _write(socket: Socket, follower: _Follower, database: Database) -> None:
    while True:
        message = await follower.queue.get()
        if message is None or follower.overflowed:
            await socket.close(code=CLOSE_TOO_SLOW, reason="too slow, reconnect")
            return
        if follower.recheck:
            follower.recheck = False
            try:
                fresh, _ = await _follow(
                    database, follower.carnet_id, socket, user_id=follower.user_id
                )
            except _SignedOut:
                await socket.close(code=CLOSE_UNAUTHENTICATED, reason="signed out")
                return
            except (LookupError, AppError):
                await socket.close(code=CLOSE_NOT_FOUND, reason="carnet not found")
                return
            follower.member, follower.note_ids = fresh.member, fresh.note_ids
        await socket.send_data(_encoder.encode(message).decode(), mode="text")
