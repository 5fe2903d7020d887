"""Structured logs: one JSON object per line, with request and note ids.

Secrets never reach a log: session cookies, API tokens and invitation links
carry recognisable prefixes (``cs_``, ``ct_``, ``ci_``) and every record is
scrubbed of them, including uvicorn's access lines, where an invitation
link's URL would otherwise appear.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
note_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("note_id", default=None)

_SECRET = re.compile(r"\b(c[sti]_)[A-Za-z0-9_\-]{8,}")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def scrub(text: str) -> str:
    return _SECRET.sub(r"\1[redacted]", text)


class ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in args)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (rid := request_id.get()) is not None:
            entry["request_id"] = rid
        if (nid := note_id.get()) is not None:
            entry["note_id"] = nid
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def logging_config(json_lines: bool | None = None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the app and uvicorn (JSON unless on a terminal)."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    formatter = (
        {"()": JsonFormatter}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["scrub"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"scrub": {"()": ScrubSecrets}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "carnet": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


def request_ids(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: a request id for each request and socket, echoed in ``X-Request-ID``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        offered = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        # An offered id goes into every log line of the request: never a secret.
        usable = _REQUEST_ID.match(offered) and not _SECRET.search(offered)
        rid = offered if usable else secrets.token_hex(8)
        token = request_id.set(rid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            # A socket sends no http.response.start: its frames skip the wrapper.
            socket = scope["type"] == ScopeType.WEBSOCKET
            await app(scope, receive, send if socket else send_with_id)
        finally:
            request_id.reset(token)

    return middleware
