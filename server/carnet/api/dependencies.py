"""What handlers declare they need: a transaction, the viewer, a page window.

Each request runs in one transaction, committed after the handler returns
and rolled back if it raises, so nothing is ever half-written.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, TypeAlias

import asyncpg
from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from carnet.auth.identity import Viewer, check_csrf, identify
from carnet.config import Settings
from carnet.errors import AppError
from carnet.events import Event, EventBus
from carnet.models import User
from carnet.storage import Database
from carnet.sync.rooms import Rooms

AppDatabase: TypeAlias = NamedDependency[Database]
AppSettings: TypeAlias = NamedDependency[Settings]
Conn: TypeAlias = NamedDependency[asyncpg.Connection]
CurrentViewer: TypeAlias = NamedDependency[Viewer]
CurrentUser: TypeAlias = NamedDependency[User]
LiveRooms: TypeAlias = NamedDependency[Rooms]


def provide_database(state: State) -> Database:
    database: Database = state.database
    return database


class Outbox:
    """Events a request will publish once its transaction has committed."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, event: Event) -> None:
        self.events.append(event)


EventOutbox: TypeAlias = NamedDependency[Outbox]


def provide_outbox() -> Outbox:
    return Outbox()


async def provide_conn(
    state: State, database: AppDatabase, outbox: EventOutbox
) -> AsyncGenerator[asyncpg.Connection, None]:
    async with database.transaction() as conn:
        yield conn
    # Only now is the change visible to others: tell them.
    bus: EventBus = state.bus
    for event in outbox.events:
        bus.publish(event)


def provide_rooms(state: State) -> Rooms:
    rooms: Rooms = state.rooms
    return rooms


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


async def provide_viewer(
    request: Request[object, object, State], conn: Conn, settings: AppSettings
) -> Viewer:
    viewer = await identify(conn, request.headers, request.cookies)
    check_csrf(
        viewer,
        method=request.method,
        headers=request.headers,
        form_token=None,
        secret_key=settings.secret_key,
        allowed_origins=settings.origins,
    )
    return viewer


def provide_user(viewer: CurrentViewer) -> User:
    """For handlers that need a signed-in person."""
    if viewer.user is None:
        raise AppError(401, "unauthenticated", "Veuillez vous connecter.", "Please sign in.")
    return viewer.user


class Window:
    __slots__ = ("limit", "offset")

    def __init__(self, limit: int, offset: int) -> None:
        self.limit = limit
        self.offset = offset


def provide_window(
    limit: Annotated[int, QueryParameter(ge=1, le=200, description="Page size")] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000, description="Items to skip")] = 0,
) -> Window:
    return Window(limit, offset)


PageWindow: TypeAlias = NamedDependency[Window]

DEPENDENCIES = {
    "database": Provide(provide_database, sync_to_thread=False),
    "outbox": Provide(provide_outbox, sync_to_thread=False),
    "rooms": Provide(provide_rooms, sync_to_thread=False),
    "conn": Provide(provide_conn),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "viewer": Provide(provide_viewer),
    "user": Provide(provide_user, sync_to_thread=False),
    "window": Provide(provide_window, sync_to_thread=False),
}
