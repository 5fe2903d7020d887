"""What a person is to a carnet or a note: the facts behind every permission."""

from __future__ import annotations

import asyncpg

from carnet.models import NoteStatus, Role, Visibility
from carnet.permissions import Access

_RANK_TO_ROLE = {1: Role.VIEWER, 2: Role.CONTRIBUTOR, 3: Role.MANAGER}

ROLE_RANK_SQL = (
    "CASE {col} WHEN 'viewer' THEN 1 WHEN 'contributor' THEN 2 WHEN 'manager' THEN 3 END"
)


async def carnet_access(
    conn: asyncpg.Connection, carnet_id: str, user_id: str | None
) -> Access | None:
    """None when the carnet does not exist."""
    row = await conn.fetchrow(
        "SELECT c.visibility, m.role FROM carnets c "
        "LEFT JOIN carnet_members m ON m.carnet_id = c.id AND m.user_id = $2 "
        "WHERE c.id = $1",
        carnet_id,
        user_id,
    )
    if row is None:
        return None
    return Access(
        signed_in=user_id is not None,
        role=Role(row["role"]) if row["role"] else None,
        public=row["visibility"] == Visibility.PUBLIC,
    )


async def note_access(
    conn: asyncpg.Connection, note_id: str, user_id: str | None
) -> tuple[Access, NoteStatus] | None:
    """A note's access facts and status; None when it does not exist.

    A note is public when it is public itself and sits in at least one public
    carnet; a person's role is their highest in the carnets holding it.
    """
    rank = ROLE_RANK_SQL.format(col="m.role")
    row = await conn.fetchrow(
        f"""
        SELECT n.status,
               n.visibility = 'public' AND EXISTS (
                   SELECT 1 FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id
                   WHERE cn.note_id = n.id AND c.visibility = 'public') AS public,
               EXISTS (SELECT 1 FROM note_authors a
                       WHERE a.note_id = n.id AND a.user_id = $2) AS author,
               (SELECT max({rank}) FROM carnet_notes cn
                  JOIN carnet_members m ON m.carnet_id = cn.carnet_id AND m.user_id = $2
                 WHERE cn.note_id = n.id) AS role_rank
          FROM notes n WHERE n.id = $1
        """,
        note_id,
        user_id,
    )
    if row is None:
        return None
    access = Access(
        signed_in=user_id is not None,
        role=_RANK_TO_ROLE.get(row["role_rank"]),
        public=row["public"],
        author=row["author"],
    )
    return access, NoteStatus(row["status"])


async def visible_note_ids(
    conn: asyncpg.Connection, note_ids: list[str], user_id: str | None
) -> set[str]:
    """Which of ``note_ids`` the user may open (same rule as :func:`note_access`)."""
    rows = await conn.fetch(
        """
        SELECT n.id FROM notes n
         WHERE n.id = ANY($1::text[])
           AND ((n.visibility = 'public' AND EXISTS (
                   SELECT 1 FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id
                    WHERE cn.note_id = n.id AND c.visibility = 'public'))
                OR EXISTS (SELECT 1 FROM note_authors a WHERE a.note_id = n.id AND a.user_id = $2)
                OR EXISTS (SELECT 1 FROM carnet_notes cn JOIN carnet_members m
                             ON m.carnet_id = cn.carnet_id AND m.user_id = $2
                            WHERE cn.note_id = n.id))
        """,
        note_ids,
        user_id,
    )
    return {row["id"] for row in rows}
