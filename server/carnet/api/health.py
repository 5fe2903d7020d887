"""Liveness and readiness probes for orchestrators."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.datastructures import State

from carnet.storage import Database
from carnet.storage.migrate import pending_migrations


@get("/healthz", tags=["operations"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@get("/readyz", tags=["operations"])
async def readyz(state: State) -> Response[dict[str, object]]:
    """The database answers and every migration has run."""
    database: Database = state.database
    try:
        async with asyncio.timeout(2), database.connection() as conn:
            pending = await pending_migrations(conn)
    except (OSError, TimeoutError, Exception):  # any failure means "not ready"
        return Response({"status": "unavailable", "database": False}, status_code=503)
    if pending:
        names = [f"{m.version:04d}_{m.name}" for m in pending]
        return Response({"status": "migrating", "pending": names}, status_code=503)
    return Response({"status": "ok", "database": True}, status_code=200)
