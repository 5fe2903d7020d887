"""The web app's pages, its static bundle and the headers that keep pages safe.

``app.py`` registers :data:`PAGE_HANDLERS` (the page controller and the
``/static`` router), :func:`template_config` and :func:`security_headers`.

The bundle is built from ``static/src`` into ``static/dist`` (committed, so
the app runs without Node; ``make bundle`` rebuilds it, ``make bundle-check``
fails when it differs from its sources); see ``static/build.mjs``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from litestar.datastructures import CacheControlHeader
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler

from carnet.dates import format_date, format_datetime
from carnet.pages.security import CONTENT_SECURITY_POLICY, security_headers
from carnet.pages.views import PageController, json_for_html, safe_next

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "PAGE_HANDLERS",
    "STATIC_DIR",
    "TEMPLATES_DIR",
    "format_date",
    "format_datetime",
    "json_for_html",
    "safe_next",
    "security_headers",
    "static_router",
    "template_config",
]

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
# ``pages/dist`` links to the repository's static/dist, so a wheel (the Docker
# image) carries the bundle as package data while a checkout serves it in place.
STATIC_DIR = Path(__file__).resolve().parent / "dist"


@cache
def _version(name: str) -> str:
    """A short content hash, so a new bundle is never taken from a stale cache."""
    try:
        return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:10]
    except OSError:
        return "missing"


def static_url(name: str) -> str:
    return f"/static/{name}?v={_version(name)}"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static"] = static_url
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def static_router() -> Router:
    return create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )


PAGE_HANDLERS: list[ControllerRouterHandler] = [PageController, static_router()]
