"""The discussion of a note."""

from __future__ import annotations

import asyncpg

from carnet.ids import new_id
from carnet.models import Comment
from carnet.storage import page_total
from carnet.storage.carnets import person

_SELECT = (
    "SELECT c.*, u.id AS author_id, u.display_name AS author_name, count(*) OVER () AS total "
    "FROM comments c LEFT JOIN users u ON u.id = c.author_id"
)


def _comment(row: asyncpg.Record) -> Comment:
    deleted = row["deleted_at"] is not None
    return Comment(
        id=row["id"],
        note_id=row["note_id"],
        author=person(row, "author"),
        # A deleted comment keeps its place in the thread, not its words.
        body="" if deleted else row["body"],
        created_at=row["created_at"],
        edited_at=row["edited_at"],
        deleted=deleted,
    )


async def create_comment(
    conn: asyncpg.Connection, note_id: str, user_id: str, body: str
) -> Comment:
    comment_id = new_id()
    await conn.execute(
        "INSERT INTO comments (id, note_id, author_id, body) VALUES ($1, $2, $3, $4)",
        comment_id,
        note_id,
        user_id,
        body,
    )
    comment = await get_comment(conn, note_id, comment_id)
    assert comment is not None
    return comment


async def get_comment(conn: asyncpg.Connection, note_id: str, comment_id: str) -> Comment | None:
    row = await conn.fetchrow(_SELECT + " WHERE c.id = $1 AND c.note_id = $2", comment_id, note_id)
    return _comment(row) if row else None


async def list_comments(
    conn: asyncpg.Connection, note_id: str, *, limit: int, offset: int
) -> tuple[list[Comment], int]:
    rows = await conn.fetch(
        _SELECT + " WHERE c.note_id = $1 ORDER BY c.created_at, c.id LIMIT $2 OFFSET $3",
        note_id,
        limit,
        offset,
    )
    total = await page_total(
        conn, rows, offset, "SELECT count(*) FROM comments WHERE note_id = $1", note_id
    )
    return [_comment(row) for row in rows], total


async def edit_comment(conn: asyncpg.Connection, comment_id: str, body: str) -> None:
    await conn.execute(
        "UPDATE comments SET body = $2, edited_at = now() WHERE id = $1 AND deleted_at IS NULL",
        comment_id,
        body,
    )


async def delete_comment(conn: asyncpg.Connection, comment_id: str, user_id: str) -> None:
    await conn.execute(
        "UPDATE comments SET deleted_at = now(), deleted_by = $2 "
        "WHERE id = $1 AND deleted_at IS NULL",
        comment_id,
        user_id,
    )
