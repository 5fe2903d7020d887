"""Published versions of notes: what readers see at ``/n/{note_id}``.

Publishing freezes the revision recorded at that moment together with the
note's title, type, licence, authors and links. Reopening a published note
to write again leaves the published version in place; publishing again
replaces it; unpublishing withdraws it (the row stays, so the page can
answer 410 Gone).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from carnet.models import Person

# A note anyone may read: public itself, and in at least one public carnet.
PUBLIC_NOTE_SQL = (
    "({n}.visibility = 'public' AND EXISTS (SELECT 1 FROM carnet_notes pcn "
    "JOIN carnets pc ON pc.id = pcn.carnet_id "
    "WHERE pcn.note_id = {n}.id AND pc.visibility = 'public'))"
)

# A note ``{user}`` may open as a member of one of its carnets or as an author.
INSIDER_SQL = (
    "({user}::text IS NOT NULL AND (EXISTS (SELECT 1 FROM note_authors ia "
    "WHERE ia.note_id = {n}.id AND ia.user_id = {user}) "
    "OR EXISTS (SELECT 1 FROM carnet_notes icn JOIN carnet_members im "
    "ON im.carnet_id = icn.carnet_id AND im.user_id = {user} WHERE icn.note_id = {n}.id)))"
)


def public_note(alias: str = "n") -> str:
    return PUBLIC_NOTE_SQL.format(n=alias)


def insider(alias: str, user_param: str) -> str:
    return INSIDER_SQL.format(n=alias, user=user_param)


def visible_note(alias: str, user_param: str) -> str:
    """The rule of :func:`carnet.storage.access.visible_note_ids`, as a condition."""
    return f"({public_note(alias)} OR {insider(alias, user_param)})"


class FrozenLink(msgspec.Struct, frozen=True, array_like=True):
    target_id: str
    kind: str


class Publication(msgspec.Struct, frozen=True, kw_only=True):
    note_id: str
    revision_id: str
    version: int
    title: str
    type: str
    licence: str
    authors: list[Person]
    links: list[FrozenLink]
    summary: str
    first_published_at: datetime
    published_at: datetime
    withdrawn_at: datetime | None

    @property
    def current(self) -> bool:
        return self.withdrawn_at is None


_COLUMNS = (
    "p.note_id, p.revision_id, p.version, p.title, p.type, p.licence, p.authors::text AS authors, "
    "p.links::text AS links, p.summary, p.first_published_at, p.published_at, p.withdrawn_at"
)


def _publication(row: asyncpg.Record) -> Publication:
    return Publication(
        note_id=row["note_id"],
        revision_id=row["revision_id"],
        version=row["version"],
        title=row["title"],
        type=row["type"],
        licence=row["licence"],
        authors=msgspec.json.decode(row["authors"], type=list[Person]),
        links=msgspec.json.decode(row["links"], type=list[FrozenLink]),
        summary=row["summary"],
        first_published_at=row["first_published_at"],
        published_at=row["published_at"],
        withdrawn_at=row["withdrawn_at"],
    )


async def publish(
    conn: asyncpg.Connection,
    note_id: str,
    *,
    revision_id: str,
    summary: str,
    user_id: str | None,
) -> Publication:
    """Freeze the note as it stands now with ``revision_id`` as its body."""
    row = await conn.fetchrow(
        f"""
        WITH facts AS (
            SELECT n.id, n.title, n.type, n.licence,
                   coalesce((SELECT jsonb_agg(jsonb_build_object('id', u.id, 'name', u.display_name)
                                              ORDER BY a.position)
                               FROM note_authors a JOIN users u ON u.id = a.user_id
                              WHERE a.note_id = n.id), '[]') AS authors,
                   coalesce((SELECT jsonb_agg(jsonb_build_array(l.target_id, l.kind)
                                              ORDER BY l.created_at, l.target_id)
                               FROM note_links l WHERE l.source_id = n.id), '[]') AS links
              FROM notes n WHERE n.id = $1
        )
        INSERT INTO note_publications AS p
               (note_id, revision_id, title, type, licence, authors, links, summary, published_by)
        SELECT id, $2, title, type, licence, authors, links, $3, $4 FROM facts
        ON CONFLICT (note_id) DO UPDATE
           SET revision_id = excluded.revision_id, version = p.version + 1,
               title = excluded.title, type = excluded.type, licence = excluded.licence,
               authors = excluded.authors, links = excluded.links, summary = excluded.summary,
               published_at = now(), published_by = excluded.published_by,
               withdrawn_at = NULL, withdrawn_by = NULL
        RETURNING {_COLUMNS}
        """,
        note_id,
        revision_id,
        summary,
        user_id,
    )
    assert row is not None
    publication = _publication(row)
    await conn.execute(
        "INSERT INTO note_publication_history "
        "(note_id, version, revision_id, title, published_at, published_by) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        note_id,
        publication.version,
        revision_id,
        publication.title,
        publication.published_at,
        user_id,
    )
    return publication


async def withdraw(conn: asyncpg.Connection, note_id: str, user_id: str | None) -> None:
    await conn.execute(
        "UPDATE note_publications SET withdrawn_at = now(), withdrawn_by = $2 "
        "WHERE note_id = $1 AND withdrawn_at IS NULL",
        note_id,
        user_id,
    )


async def get_publication(conn: asyncpg.Connection, note_id: str) -> Publication | None:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM note_publications p WHERE p.note_id = $1", note_id
    )
    return _publication(row) if row else None


async def publication_state(conn: asyncpg.Connection, revision_id: str) -> bytes:
    state: bytes | None = await conn.fetchval(
        "SELECT state FROM note_revisions WHERE id = $1", revision_id
    )
    assert state is not None
    return state


class PublishedVersion(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    title: str
    published_at: datetime


async def history(conn: asyncpg.Connection, note_id: str) -> list[PublishedVersion]:
    rows = await conn.fetch(
        "SELECT version, title, published_at FROM note_publication_history "
        "WHERE note_id = $1 ORDER BY version DESC",
        note_id,
    )
    return [
        PublishedVersion(version=r["version"], title=r["title"], published_at=r["published_at"])
        for r in rows
    ]


async def list_current(
    conn: asyncpg.Connection,
    user_id: str | None,
    *,
    carnet_id: str | None = None,
    author_id: str | None = None,
    term_id: str | None = None,
    limit: int = 50,
) -> list[Publication]:
    """Current publications ``user_id`` may read, newest first, optionally of one
    carnet, one author (as frozen) or linking to one term."""
    conditions = ["p.withdrawn_at IS NULL", visible_note("n", "$1")]
    params: list[object] = [user_id]
    if carnet_id is not None:
        params.append(carnet_id)
        conditions.append(
            f"EXISTS (SELECT 1 FROM carnet_notes fcn WHERE fcn.note_id = n.id "
            f"AND fcn.carnet_id = ${len(params)})"
        )
    if author_id is not None:
        params.append(msgspec.json.encode([{"id": author_id}]).decode())
        conditions.append(f"p.authors @> ${len(params)}::jsonb")
    if term_id is not None:
        params.append(term_id)
        conditions.append(
            f"EXISTS (SELECT 1 FROM note_links tl WHERE tl.source_id = n.id "
            f"AND tl.target_id = ${len(params)} AND tl.kind = 'term')"
        )
    params.append(limit)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM note_publications p JOIN notes n ON n.id = p.note_id "
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY p.published_at DESC, p.note_id LIMIT ${len(params)}",
        *params,
    )
    return [_publication(row) for row in rows]


async def sitemap_entries(
    conn: asyncpg.Connection, limit: int = 50_000
) -> list[tuple[str, datetime]]:
    """Published notes anyone may read, with their last publication date."""
    rows = await conn.fetch(
        f"SELECT p.note_id, p.published_at FROM note_publications p "
        f"JOIN notes n ON n.id = p.note_id "
        f"WHERE p.withdrawn_at IS NULL AND {public_note('n')} "
        f"ORDER BY p.published_at DESC LIMIT $1",
        limit,
    )
    return [(row["note_id"], row["published_at"]) for row in rows]


async def public_carnets(
    conn: asyncpg.Connection, limit: int = 50_000
) -> list[tuple[str, datetime]]:
    rows = await conn.fetch(
        "SELECT id, updated_at FROM carnets WHERE visibility = 'public' "
        "ORDER BY updated_at DESC LIMIT $1",
        limit,
    )
    return [(row["id"], row["updated_at"]) for row in rows]


class Place(msgspec.Struct, frozen=True, kw_only=True):
    """A note's place in a carnet as the published page shows it."""

    carnet_id: str
    carnet_title: str
    note_count: int
    category: str | None
    added_by: str | None
    added_at: datetime


async def places(conn: asyncpg.Connection, note_id: str, user_id: str | None) -> list[Place]:
    """The carnets holding the note that ``user_id`` may see, with their note counts
    (counting only the notes this reader could open)."""
    rows = await conn.fetch(
        f"""
        SELECT c.id, c.title, cn.category, cn.added_at, u.display_name AS adder,
               (SELECT count(*) FROM carnet_notes ccn JOIN notes cnn ON cnn.id = ccn.note_id
                 WHERE ccn.carnet_id = c.id AND {visible_note("cnn", "$2")}) AS note_count
          FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id
          LEFT JOIN users u ON u.id = cn.added_by
         WHERE cn.note_id = $1
           AND (c.visibility = 'public' OR EXISTS (SELECT 1 FROM carnet_members m
                WHERE m.carnet_id = c.id AND m.user_id = $2))
         ORDER BY cn.added_at, c.id
        """,
        note_id,
        user_id,
    )
    return [
        Place(
            carnet_id=row["id"],
            carnet_title=row["title"],
            note_count=row["note_count"],
            category=row["category"],
            added_by=row["adder"],
            added_at=row["added_at"],
        )
        for row in rows
    ]


class LinkedNote(msgspec.Struct, frozen=True, kw_only=True):
    note_id: str
    title: str
    type: str
    kind: str
    published: bool


async def linked_notes(
    conn: asyncpg.Connection, links: list[FrozenLink], user_id: str | None
) -> list[LinkedNote]:
    """The frozen links of a publication, to notes the reader may open (titles as
    published when they are, else current)."""
    if not links:
        return []
    rows = await conn.fetch(
        f"""
        SELECT n.id, coalesce(p.title, n.title) AS title, coalesce(p.type, n.type) AS type,
               p.note_id IS NOT NULL AS published
          FROM notes n
          LEFT JOIN note_publications p ON p.note_id = n.id AND p.withdrawn_at IS NULL
         WHERE n.id = ANY($1::text[]) AND {visible_note("n", "$2")}
        """,
        [link.target_id for link in links],
        user_id,
    )
    found = {row["id"]: row for row in rows}
    return [
        LinkedNote(
            note_id=link.target_id,
            title=found[link.target_id]["title"],
            type=found[link.target_id]["type"],
            kind=link.kind,
            published=found[link.target_id]["published"],
        )
        for link in links
        if link.target_id in found
    ]


async def backlinks(
    conn: asyncpg.Connection, note_id: str, user_id: str | None
) -> list[LinkedNote]:
    """Notes that link here and that the reader may open."""
    rows = await conn.fetch(
        f"""
        SELECT DISTINCT ON (n.id) n.id, coalesce(p.title, n.title) AS title,
               coalesce(p.type, n.type) AS type, l.kind, p.note_id IS NOT NULL AS published
          FROM note_links l JOIN notes n ON n.id = l.source_id
          LEFT JOIN note_publications p ON p.note_id = n.id AND p.withdrawn_at IS NULL
         WHERE l.target_id = $1 AND {visible_note("n", "$2")}
         ORDER BY n.id, l.created_at
        """,
        note_id,
        user_id,
    )
    return [
        LinkedNote(
            note_id=row["id"],
            title=row["title"],
            type=row["type"],
            kind=row["kind"],
            published=row["published"],
        )
        for row in rows
    ]
