"""Asking the permission matrix about a real carnet or note.

Used by the HTTP API and the live socket alike, so both refuse the same way.
"""

from __future__ import annotations

import asyncpg

from carnet.errors import not_found, refused
from carnet.models import NoteStatus
from carnet.permissions import Access, Action, Verdict, decide
from carnet.storage.access import carnet_access, note_access


async def authorize_carnet(
    conn: asyncpg.Connection, carnet_id: str, user_id: str | None, action: Action
) -> Access:
    access = await carnet_access(conn, carnet_id, user_id)
    if access is None:
        raise not_found()
    verdict = decide(action, access)
    if verdict is not Verdict.ALLOW:
        raise refused(verdict)
    return access


async def authorize_note(
    conn: asyncpg.Connection, note_id: str, user_id: str | None, action: Action
) -> tuple[Access, NoteStatus]:
    found = await note_access(conn, note_id, user_id)
    if found is None:
        raise not_found()
    verdict = decide(action, found[0])
    if verdict is not Verdict.ALLOW:
        raise refused(verdict)
    return found
