"""The Litestar application: wiring of API, pages, live sync and storage."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Request, Response
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.types import Receive, Scope, Send

from carnet.api.auth import AuthController, InvitationController
from carnet.api.carnets import CarnetController
from carnet.api.comments import CommentController
from carnet.api.dependencies import DEPENDENCIES
from carnet.api.health import healthz, readyz
from carnet.api.history import HistoryController
from carnet.api.notes import NoteController
from carnet.config import Settings
from carnet.errors import AppError
from carnet.events import EventBus
from carnet.fanout import RedisFanout
from carnet.feed import carnet_feed
from carnet.i18n import request_language
from carnet.logs import request_ids
from carnet.metrics import metrics
from carnet.pages import PAGE_HANDLERS, security_headers, template_config
from carnet.public import HANDLERS as PUBLIC_HANDLERS
from carnet.public import indexer_lifespan
from carnet.storage import Database
from carnet.storage.migrate import upgrade
from carnet.sync.direct import RAW_SEND
from carnet.sync.endpoint import RightsWatcher, note_socket
from carnet.sync.limits import Limits
from carnet.sync.presence import new_instance_id, presence_publisher, repeat_presence
from carnet.sync.rooms import Rooms

logger = logging.getLogger("carnet")

# Messages for the errors Litestar raises itself (routing, validation, size).
_HTTP_MESSAGES: dict[int, tuple[str, str, str]] = {
    400: ("invalid_request", "Requête invalide.", "Invalid request."),
    401: ("unauthenticated", "Veuillez vous connecter.", "Please sign in."),
    403: ("forbidden", "Action non permise.", "Not allowed."),
    404: ("not_found", "Introuvable.", "Not found."),
    405: ("method_not_allowed", "Méthode non permise.", "Method not allowed."),
    413: ("too_large", "Requête trop volumineuse.", "Request too large."),
    429: ("rate_limited", "Trop de requêtes.", "Too many requests."),
}


def _error_response(
    request: Request[object, object, State],
    status: int,
    code: str,
    fr: str,
    en: str,
    extra: object = None,
) -> Response[dict[str, object]]:
    language = request_language(request.headers, request.cookies)
    body: dict[str, object] = {
        "detail": en if language == "en" else fr,
        "code": code,
        "messages": {"fr": fr, "en": en},
    }
    if extra:
        body["errors"] = extra
    return Response(body, status_code=status)


def _app_error(
    request: Request[object, object, State], exc: AppError
) -> Response[dict[str, object]]:
    return _error_response(request, exc.status, exc.code, exc.fr, exc.en)


def _http_error(
    request: Request[object, object, State], exc: HTTPException
) -> Response[dict[str, object]]:
    code, fr, en = _HTTP_MESSAGES.get(exc.status_code, ("error", "Erreur.", "Error."))
    extra = exc.extra if isinstance(exc, ValidationException) else None
    if isinstance(exc, ValidationException):
        code, fr, en = "invalid_input", "Données invalides.", "Invalid input."
    return _error_response(request, exc.status_code, code, fr, en, extra)


def _unexpected_error(
    request: Request[object, object, State], exc: Exception
) -> Response[dict[str, object]]:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_response(
        request,
        500,
        "internal_error",
        "Erreur interne du serveur. Rien n’a été enregistré ; réessayez.",
        "Internal server error. Nothing was saved; please try again.",
    )


class CarnetApp(Litestar):
    """Litestar, keeping the server's own ``send`` of each socket for the fan-out fast path.

    Litestar wraps ``send`` before any middleware runs; :mod:`carnet.sync.direct`
    needs the server's, so it is kept in the scope here, outside everything.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        if scope["type"] == ScopeType.WEBSOCKET:
            scope[RAW_SEND] = send  # type: ignore[literal-required]
        await super().__call__(scope, receive, send)


def create_app(settings: Settings, limits: Limits | None = None) -> Litestar:
    if settings.database_url is None:
        raise ValueError("create_app needs settings.database_url (the CLI provides one)")
    database_url = settings.database_url

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database = await Database.connect(database_url, max_size=settings.db_pool_size)
        async with database.connection() as conn:
            await upgrade(conn)
        bus = EventBus()
        instance = new_instance_id()
        fanout = RedisFanout(settings.redis_url, bus, instance) if settings.redis_url else None
        rooms = Rooms(
            database, limits, on_presence=presence_publisher(bus, instance), fanout=fanout
        )
        rooms.start()
        if fanout is not None:
            fanout.start()
        bus.listen(RightsWatcher(rooms, database))
        app.state.database = database
        app.state.rooms = rooms
        app.state.bus = bus
        app.state.instance = instance
        heartbeat = asyncio.create_task(repeat_presence(rooms.rooms, bus, instance))
        try:
            yield
        finally:
            heartbeat.cancel()
            await rooms.close()
            if fanout is not None:
                await fanout.close()
            await database.close()

    return CarnetApp(
        route_handlers=[
            healthz,
            readyz,
            metrics,
            AuthController,
            InvitationController,
            CarnetController,
            NoteController,
            CommentController,
            HistoryController,
            note_socket,
            carnet_feed,
            *PAGE_HANDLERS,
            *PUBLIC_HANDLERS,
        ],
        dependencies=DEPENDENCIES,
        middleware=[request_ids, security_headers],
        template_config=template_config(),
        lifespan=[lifespan, indexer_lifespan],
        state=State({"settings": settings}),
        exception_handlers={
            AppError: _app_error,
            HTTPException: _http_error,
            Exception: _unexpected_error,
        },
        openapi_config=OpenAPIConfig(
            title="Carnet",
            version="0.1.0",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
        ),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
