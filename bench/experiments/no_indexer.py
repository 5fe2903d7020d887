"""EXPERIMENT: the search indexer's background task does nothing (measures what it costs).

The real indexer (carnet/public/indexer.py) wakes every second and, for each
note whose log grew, loads it from PostgreSQL, rebuilds its whole Doc
(``build_doc``, which now re-checks every log row with ``integrate``) and
renders its text, on the event loop that also serves the note's sockets.
"""
# ruff: noqa: ASYNC110 - benchmark scripts, blocking on purpose

from __future__ import annotations

import asyncio
from typing import Any

import carnet.public.indexer as indexer


async def run_indexer(database: Any, interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(3600)


indexer.run_indexer = run_indexer  # type: ignore[assignment]
