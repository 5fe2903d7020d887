"""In-app notifications for authors: new comments, notes finalised or published."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import asyncpg
import msgspec

from carnet.ids import new_id
from carnet.models import Person
from carnet.storage import page_total
from carnet.storage.publications import visible_note

Kind = Literal["comment", "finalised", "published"]


class NotifiedNote(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: Kind
    note: NotifiedNote
    actor: Person | None
    comment_id: str | None
    created_at: datetime
    read_at: datetime | None


async def notify_authors(
    conn: asyncpg.Connection,
    note_id: str,
    kind: Kind,
    actor_id: str | None,
    *,
    comment_id: str | None = None,
) -> int:
    """One notification per author of the note, except whoever did it."""
    rows = await conn.fetch(
        "SELECT user_id FROM note_authors WHERE note_id = $1 "
        "AND user_id IS DISTINCT FROM $2 ORDER BY position",
        note_id,
        actor_id,
    )
    await conn.executemany(
        "INSERT INTO notifications (id, user_id, kind, note_id, actor_id, comment_id) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(new_id(), row["user_id"], kind, note_id, actor_id, comment_id) for row in rows],
    )
    return len(rows)


async def list_notifications(
    conn: asyncpg.Connection, user_id: str, *, unread_only: bool, limit: int, offset: int
) -> tuple[list[Notification], int]:
    """Newest first; only about notes the person may still open."""
    where = f"x.user_id = $1 AND {visible_note('n', '$1')}"
    if unread_only:
        where += " AND x.read_at IS NULL"
    rows = await conn.fetch(
        f"""
        SELECT x.id, x.kind, x.note_id, n.title, x.comment_id, x.created_at, x.read_at,
               u.id AS actor_id, u.display_name AS actor_name, count(*) OVER () AS total
          FROM notifications x JOIN notes n ON n.id = x.note_id
          LEFT JOIN users u ON u.id = x.actor_id
         WHERE {where}
         ORDER BY x.created_at DESC, x.id LIMIT $2 OFFSET $3
        """,
        user_id,
        limit,
        offset,
    )
    total = await page_total(
        conn,
        rows,
        offset,
        f"SELECT count(*) FROM notifications x JOIN notes n ON n.id = x.note_id WHERE {where}",
        user_id,
    )
    return [
        Notification(
            id=row["id"],
            kind=row["kind"],
            note=NotifiedNote(id=row["note_id"], title=row["title"]),
            actor=Person(id=row["actor_id"], name=row["actor_name"]) if row["actor_id"] else None,
            comment_id=row["comment_id"],
            created_at=row["created_at"],
            read_at=row["read_at"],
        )
        for row in rows
    ], total


async def unread_count(conn: asyncpg.Connection, user_id: str) -> int:
    value = await conn.fetchval(
        "SELECT count(*) FROM notifications x JOIN notes n ON n.id = x.note_id "
        f"WHERE x.user_id = $1 AND x.read_at IS NULL AND {visible_note('n', '$1')}",
        user_id,
    )
    return int(value)


async def mark_read(conn: asyncpg.Connection, user_id: str, ids: list[str] | None) -> int:
    """Mark some (``ids``) or all of a person's notifications read; returns how many."""
    if ids is None:
        result = await conn.execute(
            "UPDATE notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL",
            user_id,
        )
    else:
        result = await conn.execute(
            "UPDATE notifications SET read_at = coalesce(read_at, now()) "
            "WHERE user_id = $1 AND id = ANY($2::text[])",
            user_id,
            ids,
        )
    return int(result.rsplit(" ", 1)[-1])
