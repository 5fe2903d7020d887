"""Notes, their authors, their places in carnets, and the links between them."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from carnet.errors import AppError, conflict, invalid, not_found
from carnet.ids import new_id
from carnet.models import (
    LinkKind,
    Note,
    NoteInCarnet,
    NoteLink,
    NoteStatus,
    NoteSummary,
    NoteType,
    Person,
    Visibility,
)
from carnet.storage import page_total
from carnet.storage.carnets import person

NOTE_FIELDS = ("title", "type", "visibility", "licence")

_AUTHORS_JSON = """
coalesce((SELECT json_agg(json_build_object('id', u.id, 'name', u.display_name)
                          ORDER BY a.position)
            FROM note_authors a JOIN users u ON u.id = a.user_id
           WHERE a.note_id = n.id), '[]')::text AS authors_json
"""


def _people(raw: str) -> list[Person]:
    return msgspec.json.decode(raw, type=list[Person])


async def create_note(
    conn: asyncpg.Connection,
    carnet_id: str,
    user_id: str,
    fields: dict[str, Any],
    *,
    category: str | None = None,
) -> str:
    """A new draft note in a carnet; its creator is its first author."""
    note_id = new_id()
    await conn.execute(
        "INSERT INTO notes (id, title, type, visibility, licence, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        note_id,
        fields["title"],
        fields.get("type", NoteType.NOTE),
        fields["visibility"],
        fields.get("licence", "CC-BY-4.0"),
        user_id,
    )
    await conn.execute(
        "INSERT INTO note_authors (note_id, user_id, position) VALUES ($1, $2, 0)",
        note_id,
        user_id,
    )
    await attach_note(conn, carnet_id, note_id, user_id, category=category)
    return note_id


async def get_note(conn: asyncpg.Connection, note_id: str, user_id: str | None) -> Note | None:
    """The note, listing only the carnets ``user_id`` may see."""
    row = await conn.fetchrow(
        f"SELECT n.*, u.id AS creator_id, u.display_name AS creator_name, {_AUTHORS_JSON} "
        "FROM notes n LEFT JOIN users u ON u.id = n.created_by WHERE n.id = $1",
        note_id,
    )
    if row is None:
        return None
    places = await conn.fetch(
        "SELECT cn.*, c.title AS carnet_title, u.id AS adder_id, u.display_name AS adder_name "
        "FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id "
        "LEFT JOIN users u ON u.id = cn.added_by WHERE cn.note_id = $1 "
        "AND (c.visibility = 'public' OR EXISTS (SELECT 1 FROM carnet_members m "
        "     WHERE m.carnet_id = c.id AND m.user_id = $2)) ORDER BY cn.added_at",
        note_id,
        user_id,
    )
    return Note(
        id=row["id"],
        title=row["title"],
        type=NoteType(row["type"]),
        status=NoteStatus(row["status"]),
        visibility=Visibility(row["visibility"]),
        licence=row["licence"],
        authors=_people(row["authors_json"]),
        carnets=[
            NoteInCarnet(
                carnet_id=place["carnet_id"],
                carnet_title=place["carnet_title"],
                added_by=person(place, "adder"),
                added_at=place["added_at"],
                category=place["category"],
                position=place["position"],
                pinned=place["pinned"],
            )
            for place in places
        ],
        created_by=person(row, "creator"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finalised_at=row["finalised_at"],
        published_at=row["published_at"],
    )


async def update_note(conn: asyncpg.Connection, note_id: str, fields: dict[str, Any]) -> None:
    columns = [name for name in NOTE_FIELDS if name in fields]
    if not columns:
        return
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
    await conn.execute(
        f"UPDATE notes SET {assignments}, updated_at = now() WHERE id = $1",
        note_id,
        *(fields[name] for name in columns),
    )


async def touch_note(conn: asyncpg.Connection, note_id: str) -> None:
    await conn.execute("UPDATE notes SET updated_at = now() WHERE id = $1", note_id)


async def delete_note(conn: asyncpg.Connection, note_id: str) -> None:
    await conn.execute("DELETE FROM notes WHERE id = $1", note_id)


# Status ------------------------------------------------------------------------

# transition name -> (statuses it starts from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[NoteStatus], NoteStatus]] = {
    "finalise": (frozenset({NoteStatus.DRAFT}), NoteStatus.FINALISED),
    # Publishing a draft finalises it on the way.
    "publish": (frozenset({NoteStatus.DRAFT, NoteStatus.FINALISED}), NoteStatus.PUBLISHED),
    "reopen": (frozenset({NoteStatus.FINALISED, NoteStatus.PUBLISHED}), NoteStatus.DRAFT),
    "unpublish": (frozenset({NoteStatus.PUBLISHED}), NoteStatus.FINALISED),
}


async def transition_note(conn: asyncpg.Connection, note_id: str, transition: str) -> NoteStatus:
    sources, target = TRANSITIONS[transition]
    current = await conn.fetchval("SELECT status FROM notes WHERE id = $1 FOR UPDATE", note_id)
    if current is None:
        raise not_found()
    if NoteStatus(current) not in sources:
        raise conflict(
            "invalid_transition",
            f"Impossible : la note est « {_STATUS_FR[NoteStatus(current)]} ».",
            f"Not possible: the note is {current}.",
        )
    await conn.execute(
        """
        UPDATE notes SET status = $2, updated_at = now(),
               finalised_at = CASE WHEN $2 IN ('finalised', 'published')
                                   THEN coalesce(finalised_at, now()) END,
               published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END
         WHERE id = $1
        """,
        note_id,
        target,
    )
    return target


_STATUS_FR = {
    NoteStatus.DRAFT: "brouillon",
    NoteStatus.FINALISED: "finalisée",
    NoteStatus.PUBLISHED: "publiée",
}


def require_draft(status: NoteStatus) -> None:
    if status is not NoteStatus.DRAFT:
        raise conflict(
            "not_draft",
            f"La note est « {_STATUS_FR[status]} » : rouvrez-la pour la modifier.",
            f"The note is {status}: reopen it to change it.",
        )


# Authors -----------------------------------------------------------------------


async def set_authors(conn: asyncpg.Connection, note_id: str, user_ids: list[str]) -> None:
    if not user_ids:
        raise invalid(
            "no_author", "Une note a au moins un·e auteur·trice.", "A note has at least one author."
        )
    if len(set(user_ids)) != len(user_ids):
        raise invalid("duplicate_author", "Auteur·trice en double.", "Duplicate author.")
    known = await conn.fetchval("SELECT count(*) FROM users WHERE id = ANY($1::text[])", user_ids)
    if known != len(user_ids):
        # 422 like adding one author or a member: well-formed, but nobody has that id.
        raise AppError(422, "unknown_user", "Personne inconnue.", "Unknown person.")
    await conn.execute("DELETE FROM note_authors WHERE note_id = $1", note_id)
    await conn.executemany(
        "INSERT INTO note_authors (note_id, user_id, position) VALUES ($1, $2, $3)",
        [(note_id, user_id, position) for position, user_id in enumerate(user_ids)],
    )
    await touch_note(conn, note_id)


async def add_author(conn: asyncpg.Connection, note_id: str, user_id: str) -> None:
    inserted = await conn.fetchval(
        "INSERT INTO note_authors (note_id, user_id, position) "
        "SELECT $1, $2, coalesce(max(position) + 1, 0) FROM note_authors WHERE note_id = $1 "
        "ON CONFLICT DO NOTHING RETURNING true",
        note_id,
        user_id,
    )
    if not inserted:
        raise conflict("already_author", "Déjà auteur·trice.", "Already an author.")
    await touch_note(conn, note_id)


# Places in carnets -------------------------------------------------------------


async def attach_note(
    conn: asyncpg.Connection,
    carnet_id: str,
    note_id: str,
    user_id: str,
    *,
    category: str | None = None,
) -> None:
    await check_category(conn, carnet_id, category)
    inserted = await conn.fetchval(
        "INSERT INTO carnet_notes (carnet_id, note_id, added_by, category, position) "
        "SELECT $1, $2, $3, $4, coalesce(max(position) + 1, 0) FROM carnet_notes "
        "WHERE carnet_id = $1 ON CONFLICT DO NOTHING RETURNING true",
        carnet_id,
        note_id,
        user_id,
        category,
    )
    if not inserted:
        raise conflict(
            "already_in_carnet",
            "La note est déjà dans ce carnet.",
            "The note is already in this carnet.",
        )


async def check_category(conn: asyncpg.Connection, carnet_id: str, category: str | None) -> None:
    """A category must be one the carnet allows (any, when it lists none)."""
    if category is None:
        return
    allowed = await conn.fetchval("SELECT categories FROM carnets WHERE id = $1", carnet_id)
    if allowed and category not in allowed:
        raise invalid(
            "unknown_category",
            f"Catégorie inconnue dans ce carnet : {category}.",
            f"Unknown category in this carnet: {category}.",
        )


async def detach_note(conn: asyncpg.Connection, carnet_id: str, note_id: str) -> None:
    result = await conn.execute(
        "DELETE FROM carnet_notes WHERE carnet_id = $1 AND note_id = $2", carnet_id, note_id
    )
    if result == "DELETE 0":
        raise not_found()


async def update_place(
    conn: asyncpg.Connection, carnet_id: str, note_id: str, fields: dict[str, Any]
) -> None:
    if "category" in fields:
        await check_category(conn, carnet_id, fields["category"])
    columns = [name for name in ("category", "pinned") if name in fields]
    if not columns:
        # Nothing to change, but a note that is not in the carnet is still a 404.
        placed = await conn.fetchval(
            "SELECT true FROM carnet_notes WHERE carnet_id = $1 AND note_id = $2",
            carnet_id,
            note_id,
        )
        if not placed:
            raise not_found()
        return
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=3))
    result = await conn.execute(
        f"UPDATE carnet_notes SET {assignments} WHERE carnet_id = $1 AND note_id = $2",
        carnet_id,
        note_id,
        *(fields[name] for name in columns),
    )
    if result == "UPDATE 0":
        raise not_found()


async def reorder_notes(conn: asyncpg.Connection, carnet_id: str, note_ids: list[str]) -> None:
    """Set the manual order; ``note_ids`` must name every note of the carnet once."""
    current = await conn.fetch(
        "SELECT note_id FROM carnet_notes WHERE carnet_id = $1 FOR UPDATE", carnet_id
    )
    if sorted(row["note_id"] for row in current) != sorted(note_ids):
        raise conflict(
            "order_mismatch",
            "L’ordre doit nommer chaque note du carnet une seule fois.",
            "The order must name every note of the carnet exactly once.",
        )
    await conn.execute(
        "UPDATE carnet_notes cn SET position = o.position - 1 "
        "FROM unnest($2::text[]) WITH ORDINALITY AS o(note_id, position) "
        "WHERE cn.carnet_id = $1 AND cn.note_id = o.note_id",
        carnet_id,
        note_ids,
    )


_SUMMARY_FILTERS = {
    "category": "cn.category = ${}",
    "type": "n.type = ${}",
    "status": "n.status = ${}",
    "q": "n.title ILIKE '%' || ${} || '%'",
}


async def list_carnet_notes(
    conn: asyncpg.Connection,
    carnet_id: str,
    user_id: str | None,
    *,
    member: bool,
    filters: dict[str, str],
    limit: int,
    offset: int,
) -> tuple[list[NoteSummary], int]:
    """Pinned first, then in manual order. Non-members see public notes and their own."""
    conditions = ["cn.carnet_id = $1"]
    params: list[Any] = [carnet_id]
    if not member:
        params.append(user_id)
        conditions.append(
            "(n.visibility = 'public' OR EXISTS (SELECT 1 FROM note_authors a "
            f"WHERE a.note_id = n.id AND a.user_id = ${len(params)}))"
        )
    for name, template in _SUMMARY_FILTERS.items():
        if name in filters:
            value = filters[name]
            if name == "q":
                value = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(value)
            conditions.append(template.format(len(params)))
    where = " AND ".join(conditions)
    count_params = list(params)
    params += [limit, offset]
    rows = await conn.fetch(
        f"""
        SELECT n.id, n.title, n.type, n.status, n.visibility, n.updated_at,
               cn.category, cn.position, cn.pinned, cn.added_at,
               u.id AS adder_id, u.display_name AS adder_name, {_AUTHORS_JSON},
               count(*) OVER () AS total
          FROM carnet_notes cn JOIN notes n ON n.id = cn.note_id
          LEFT JOIN users u ON u.id = cn.added_by
         WHERE {where}
         ORDER BY cn.pinned DESC, cn.position, n.id
         LIMIT ${len(params) - 1} OFFSET ${len(params)}
        """,
        *params,
    )
    notes = [
        NoteSummary(
            id=row["id"],
            title=row["title"],
            type=NoteType(row["type"]),
            status=NoteStatus(row["status"]),
            visibility=Visibility(row["visibility"]),
            authors=_people(row["authors_json"]),
            category=row["category"],
            position=row["position"],
            pinned=row["pinned"],
            added_by=person(row, "adder"),
            added_at=row["added_at"],
            updated_at=row["updated_at"],
        )
        for row in rows
    ]
    total = await page_total(
        conn,
        rows,
        offset,
        f"SELECT count(*) FROM carnet_notes cn JOIN notes n ON n.id = cn.note_id WHERE {where}",
        *count_params,
    )
    return notes, total


# Links -------------------------------------------------------------------------


async def add_link(
    conn: asyncpg.Connection, source_id: str, target_id: str, kind: LinkKind, user_id: str
) -> None:
    if source_id == target_id:
        raise invalid(
            "self_link",
            "Une note ne peut pas se lier à elle-même.",
            "A note cannot link to itself.",
        )
    inserted = await conn.fetchval(
        "INSERT INTO note_links (source_id, target_id, kind, created_by) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING RETURNING true",
        source_id,
        target_id,
        kind,
        user_id,
    )
    if not inserted:
        raise conflict("link_exists", "Ce lien existe déjà.", "This link already exists.")


async def remove_link(
    conn: asyncpg.Connection, source_id: str, target_id: str, kind: LinkKind
) -> None:
    result = await conn.execute(
        "DELETE FROM note_links WHERE source_id = $1 AND target_id = $2 AND kind = $3",
        source_id,
        target_id,
        kind,
    )
    if result == "DELETE 0":
        raise not_found()


async def list_links(conn: asyncpg.Connection, note_id: str, *, backlinks: bool) -> list[NoteLink]:
    """Links from the note (or, with ``backlinks``, to it); the caller filters by visibility."""
    here, there = ("target_id", "source_id") if backlinks else ("source_id", "target_id")
    rows = await conn.fetch(
        f"SELECT l.{there} AS other, l.kind, l.created_at, n.title, n.type "
        f"FROM note_links l JOIN notes n ON n.id = l.{there} "
        f"WHERE l.{here} = $1 ORDER BY l.created_at, l.{there}",
        note_id,
    )
    return [
        NoteLink(
            note_id=row["other"],
            title=row["title"],
            type=NoteType(row["type"]),
            kind=LinkKind(row["kind"]),
            created_at=row["created_at"],
        )
        for row in rows
    ]


async def note_facts(conn: asyncpg.Connection, note_id: str) -> asyncpg.Record | None:
    """Title, status, visibility, type and every carnet of a note (for events)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT n.title, n.status, n.visibility, n.type, "
        "array(SELECT carnet_id FROM carnet_notes WHERE note_id = n.id) AS carnet_ids "
        "FROM notes n WHERE n.id = $1",
        note_id,
    )
    return row


async def note_status(conn: asyncpg.Connection, note_id: str) -> NoteStatus | None:
    status = await conn.fetchval("SELECT status FROM notes WHERE id = $1", note_id)
    return NoteStatus(status) if status else None


async def carnet_note_ids(conn: asyncpg.Connection, carnet_id: str, *, member: bool) -> set[str]:
    """The notes of a carnet a reader may follow live (members: all; others: public ones)."""
    rows = await conn.fetch(
        "SELECT cn.note_id FROM carnet_notes cn JOIN notes n ON n.id = cn.note_id "
        "WHERE cn.carnet_id = $1 AND ($2 OR n.visibility = 'public')",
        carnet_id,
        member,
    )
    return {row["note_id"] for row in rows}
