"""Publishing and finding (issue 5): published pages, citations, exports, feeds,
search, notifications and discovery.

``HANDLERS`` are registered in :mod:`carnet.app`; ``indexer_lifespan`` runs the
background task that keeps the search index in step with live writing.
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from carnet.public.api import API_HANDLERS
from carnet.public.indexer import indexer_lifespan
from carnet.public.pages import PAGE_HANDLERS

HANDLERS: list[ControllerRouterHandler] = [*API_HANDLERS, *PAGE_HANDLERS]

__all__ = ["HANDLERS", "indexer_lifespan"]
