"""Turning what a request changed into events for live listeners."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import asyncpg

from carnet.api.dependencies import Outbox
from carnet.events import NoteChanged
from carnet.storage import notes


async def note_changed(
    conn: asyncpg.Connection,
    outbox: Outbox,
    action: Literal["created", "updated", "deleted", "attached", "detached"],
    note_id: str,
    also_carnets: Iterable[str] = (),
) -> None:
    """Queue a NoteChanged event; call before a deletion, after any other change."""
    facts = await notes.note_facts(conn, note_id)
    if facts is None:
        return
    outbox.add(
        NoteChanged(
            action=action,
            note_id=note_id,
            carnet_ids=sorted({*facts["carnet_ids"], *also_carnets}),
            title=facts["title"],
            status=facts["status"],
            visibility=facts["visibility"],
            type=facts["type"],
        )
    )
