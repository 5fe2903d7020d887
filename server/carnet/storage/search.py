"""The search index: PostgreSQL full-text search with a trigram fallback.

Each note has up to two rows in ``note_search``: its ``live`` text, searched
by the people who may open the note (members of one of its carnets, its
authors), and its ``published`` text, searched by everyone else when the note
is published and public. Both carry the title (weight A), metadata — authors,
carnets, event, categories — (weight B) and the body (weight D) in French and
English configurations that ignore accents (``carnet_fr``, ``carnet_en``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import asyncpg
import msgspec

from carnet.models import Person
from carnet.storage.publications import insider, public_note

# Highlight markers: characters from the private use area, stripped from every
# indexed text, turned into <mark> once the snippet is HTML-escaped.
MARK_START = "\ue000"
MARK_STOP = "\ue001"
_MARKERS = re.compile("[\ue000\ue001]")

WORD_SIMILARITY = 0.5
MAX_FUZZY_WORDS = 8

DateField = Literal["updated", "created", "published"]
Mode = Literal["fulltext", "fuzzy", "browse"]


def clean(text: str) -> str:
    return _MARKERS.sub("", text)


# Indexing ------------------------------------------------------------------------


def _meta_sql(note: str, *, public_only: bool, frozen_authors: str | None = None) -> str:
    authors = (
        f"(SELECT string_agg(x->>'name', ' ') FROM jsonb_array_elements({frozen_authors}) x)"
        if frozen_authors
        else "(SELECT string_agg(u.display_name, ' ' ORDER BY a.position) FROM note_authors a "
        f"JOIN users u ON u.id = a.user_id WHERE a.note_id = {note})"
    )
    only = " AND c.visibility = 'public'" if public_only else ""
    carnets = (
        "(SELECT string_agg(concat_ws(' ', c.title, c.event_name, c.event_place, cn.category), ' ')"
        f" FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id WHERE cn.note_id = {note}"
        f"{only})"
    )
    return f"translate(concat_ws(' ', {authors}, {carnets}), '{MARK_START}{MARK_STOP}', '')"


async def stale_live(conn: asyncpg.Connection, limit: int) -> list[tuple[str, int]]:
    """Notes whose live row is missing, behind the update log, or whose metadata moved."""
    rows = await conn.fetch(
        """
        SELECT n.id, coalesce(s.gen, 0) AS gen
          FROM notes n
          LEFT JOIN note_heads h ON h.note_id = n.id
          LEFT JOIN note_search s ON s.note_id = n.id AND s.version = 'live'
         WHERE s.note_id IS NULL OR coalesce(h.last_seq, 0) > s.seq OR s.gen > s.seen_gen
         ORDER BY s.indexed_at NULLS FIRST
         LIMIT $1
        """,
        limit,
    )
    return [(row["id"], row["gen"]) for row in rows]


async def store_live(conn: asyncpg.Connection, note_id: str, seq: int, gen: int, body: str) -> None:
    await conn.execute(
        f"""
        INSERT INTO note_search AS s (note_id, version, type, title, meta, body, seq, gen, seen_gen)
        SELECT n.id, 'live', n.type, translate(n.title, '{MARK_START}{MARK_STOP}', ''),
               {_meta_sql("n.id", public_only=False)}, $2, $3, $4, $4
          FROM notes n WHERE n.id = $1
        ON CONFLICT (note_id, version) DO UPDATE
           SET type = excluded.type, title = excluded.title, meta = excluded.meta,
               body = excluded.body, seq = excluded.seq, seen_gen = excluded.seen_gen,
               indexed_at = now()
        """,
        note_id,
        clean(body),
        seq,
        gen,
    )


async def store_published(conn: asyncpg.Connection, note_id: str, body: str) -> None:
    """Index the note's current publication (call after publishing it)."""
    await conn.execute(
        f"""
        INSERT INTO note_search AS s (note_id, version, type, title, meta, body)
        SELECT p.note_id, 'published', p.type, translate(p.title, '{MARK_START}{MARK_STOP}', ''),
               {_meta_sql("p.note_id", public_only=True, frozen_authors="p.authors")}, $2
          FROM note_publications p WHERE p.note_id = $1
        ON CONFLICT (note_id, version) DO UPDATE
           SET type = excluded.type, title = excluded.title, meta = excluded.meta,
               body = excluded.body, seen_gen = s.gen, indexed_at = now()
        """,
        note_id,
        clean(body),
    )


async def missing_published(conn: asyncpg.Connection, limit: int) -> list[tuple[str, str]]:
    """Current publications without their 'published' row: (note id, revision id)."""
    rows = await conn.fetch(
        """
        SELECT p.note_id, p.revision_id FROM note_publications p
         WHERE p.withdrawn_at IS NULL AND NOT EXISTS (
               SELECT 1 FROM note_search s WHERE s.note_id = p.note_id AND s.version = 'published')
         LIMIT $1
        """,
        limit,
    )
    return [(row["note_id"], row["revision_id"]) for row in rows]


async def drop_published(conn: asyncpg.Connection, note_id: str) -> None:
    await conn.execute(
        "DELETE FROM note_search WHERE note_id = $1 AND version = 'published'", note_id
    )


async def refresh_published(conn: asyncpg.Connection) -> int:
    """Recompute the metadata of published rows whose carnets or authors changed."""
    result = await conn.execute(
        f"""
        UPDATE note_search s
           SET meta = {_meta_sql("p.note_id", public_only=True, frozen_authors="p.authors")},
               seen_gen = s.gen, indexed_at = now()
          FROM note_publications p
         WHERE s.version = 'published' AND s.gen > s.seen_gen AND p.note_id = s.note_id
        """
    )
    return int(result.rsplit(" ", 1)[-1])


# Searching -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filters:
    carnet_id: str | None = None
    type: str | None = None
    category: str | None = None
    author_id: str | None = None
    status: str | None = None
    date_field: DateField = "updated"
    date_from: date | None = None
    date_to: date | None = None


class CarnetRef(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    category: str | None


@dataclass(frozen=True, slots=True)
class Hit:
    note_id: str
    version: str
    title: str
    title_marked: str
    type: str
    status: str
    snippet_marked: str
    body: str
    rank: float
    authors: list[Person]
    carnets: list[CarnetRef]
    updated_at: datetime
    published_at: datetime | None


@dataclass(slots=True)
class _Query:
    params: list[Any] = field(default_factory=list)

    def add(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"


_DATE_SQL: dict[str, str] = {
    "updated": "CASE WHEN s.version = 'published' THEN p.published_at ELSE n.updated_at END",
    "created": "n.created_at",
    "published": "p.first_published_at",
}

_HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_STOP}, MaxWords=30, MinWords=12, ShortWord=2, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)
_TITLE_HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_STOP}, HighlightAll=true"


def _conditions(query: _Query, user_id: str | None, filters: Filters) -> list[str]:
    user = query.add(user_id)
    conditions = [
        f"((s.version = 'live' AND {insider('n', user)}) OR (s.version = 'published' "
        f"AND p.note_id IS NOT NULL AND {public_note('n')} AND NOT {insider('n', user)}))"
    ]
    seen_carnet = (
        "(c.visibility = 'public' OR EXISTS (SELECT 1 FROM carnet_members m "
        f"WHERE m.carnet_id = c.id AND m.user_id = {user}))"
    )
    if filters.carnet_id is not None or filters.category is not None:
        place = ["fc.note_id = n.id", seen_carnet]
        if filters.carnet_id is not None:
            place.append(f"fc.carnet_id = {query.add(filters.carnet_id)}")
        if filters.category is not None:
            place.append(f"fc.category = {query.add(filters.category)}")
        conditions.append(
            "EXISTS (SELECT 1 FROM carnet_notes fc JOIN carnets c ON c.id = fc.carnet_id "
            f"WHERE {' AND '.join(place)})"
        )
    if filters.type is not None:
        conditions.append(f"s.type = {query.add(filters.type)}")
    if filters.status is not None:
        conditions.append(
            "(CASE WHEN s.version = 'published' THEN 'published' ELSE n.status END) = "
            f"{query.add(filters.status)}"
        )
    if filters.author_id is not None:
        frozen = query.add(msgspec.json.encode([{"id": filters.author_id}]).decode())
        live = query.add(filters.author_id)
        conditions.append(
            f"(CASE WHEN s.version = 'published' THEN p.authors @> {frozen}::jsonb "
            "ELSE EXISTS (SELECT 1 FROM note_authors fa WHERE fa.note_id = n.id "
            f"AND fa.user_id = {live}) END)"
        )
    when = _DATE_SQL[filters.date_field]
    if filters.date_from is not None:
        conditions.append(f"{when} >= {query.add(filters.date_from)}::date")
    if filters.date_to is not None:
        conditions.append(f"{when} < {query.add(filters.date_to)}::date + 1")
    return conditions


def _headline(column: str, options: str) -> str:
    return (
        "ts_headline((CASE WHEN h.in_fr THEN 'carnet_fr' ELSE 'carnet_en' END)::regconfig, "
        f"{column}, CASE WHEN h.in_fr THEN q.fr ELSE q.en END, '{options}')"
    )


def fuzzy_words(text: str) -> list[str]:
    words = [w for w in re.findall(r"\w+", text.lower()) if len(w) >= 3 and not w.isdigit()]
    return list(dict.fromkeys(words))[:MAX_FUZZY_WORDS]


async def search(
    conn: asyncpg.Connection,
    text: str,
    user_id: str | None,
    filters: Filters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[Hit], int, Mode]:
    """Full-text search; when it finds nothing, a typo-tolerant trigram search."""
    text = clean(text).strip()
    if not text:
        hits, total = await _run(conn, "browse", text, [], user_id, filters, limit, offset)
        return hits, total, "browse"
    hits, total = await _run(conn, "fulltext", text, [], user_id, filters, limit, offset)
    if total or offset:
        return hits, total, "fulltext"
    words = fuzzy_words(text)
    if not words:
        return hits, total, "fulltext"
    await conn.execute(
        "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)", str(WORD_SIMILARITY)
    )
    hits, total = await _run(conn, "fuzzy", text, words, user_id, filters, limit, offset)
    return hits, total, "fuzzy"


async def _run(
    conn: asyncpg.Connection,
    mode: Mode,
    text: str,
    words: list[str],
    user_id: str | None,
    filters: Filters,
    limit: int,
    offset: int,
) -> tuple[list[Hit], int]:
    query = _Query()
    q = query.add(text)
    conditions = _conditions(query, user_id, filters)
    user = "$2"  # the first parameter _conditions adds
    when = _DATE_SQL[filters.date_field]
    if mode == "fulltext":
        conditions.append("(s.fr @@ q.fr OR s.en @@ q.en)")
        rank = "greatest(ts_rank(s.fr, q.fr), ts_rank(s.en, q.en))"
    elif mode == "fuzzy":
        placeholders = [f"carnet_unaccent(lower({query.add(word)}))" for word in words]
        conditions.extend(f"s.plain %> {w}" for w in placeholders)
        rank = " + ".join(f"word_similarity({w}, s.plain)" for w in placeholders)
    else:
        rank = "0"
    lim, off = query.add(limit), query.add(offset)
    sql = f"""
    WITH q AS (SELECT websearch_to_tsquery('carnet_fr', {q}) AS fr,
                      websearch_to_tsquery('carnet_en', {q}) AS en),
    hits AS (
        SELECT s.note_id, s.version, s.title, s.type, s.body, s.fr @@ q.fr AS in_fr,
               ({rank})::float8 AS rank, {when} AS sort_date, count(*) OVER () AS total
          FROM note_search s CROSS JOIN q
          JOIN notes n ON n.id = s.note_id
          LEFT JOIN note_publications p ON p.note_id = s.note_id AND p.withdrawn_at IS NULL
         WHERE {" AND ".join(conditions)}
         ORDER BY rank DESC, sort_date DESC NULLS LAST, s.note_id
         LIMIT {lim} OFFSET {off}
    )
    SELECT h.note_id, h.version, h.title, h.type, h.rank, h.total, h.body,
           CASE WHEN h.version = 'published' THEN 'published' ELSE n.status END AS status,
           CASE WHEN h.version = 'published' THEN p.published_at ELSE n.updated_at END
               AS updated_at,
           p.first_published_at AS published_at,
           {_headline("h.body", _HEADLINE) if mode == "fulltext" else "NULL"} AS snippet,
           {_headline("h.title", _TITLE_HEADLINE) if mode == "fulltext" else "NULL"}
               AS title_marked,
           CASE WHEN h.version = 'published' THEN p.authors::text
                ELSE coalesce((SELECT json_agg(json_build_object('id', u.id, 'name', u.display_name)
                                               ORDER BY a.position)
                                 FROM note_authors a JOIN users u ON u.id = a.user_id
                                WHERE a.note_id = h.note_id), '[]')::text END AS authors,
           coalesce((SELECT json_agg(json_build_object('id', c.id, 'title', c.title,
                                                       'category', cn.category)
                                     ORDER BY cn.added_at)
                       FROM carnet_notes cn JOIN carnets c ON c.id = cn.carnet_id
                      WHERE cn.note_id = h.note_id
                        AND (c.visibility = 'public' OR EXISTS (SELECT 1 FROM carnet_members m
                             WHERE m.carnet_id = c.id AND m.user_id = {user}))), '[]')::text
               AS carnets
      FROM hits h CROSS JOIN q
      JOIN notes n ON n.id = h.note_id
      LEFT JOIN note_publications p ON p.note_id = h.note_id AND p.withdrawn_at IS NULL
     ORDER BY h.rank DESC, h.sort_date DESC NULLS LAST, h.note_id
    """
    rows = await conn.fetch(sql, *query.params)
    if rows:
        total = int(rows[0]["total"])
    elif offset:
        total = await _count(conn, query, conditions, q)
    else:
        total = 0
    hits = [
        Hit(
            note_id=row["note_id"],
            version=row["version"],
            title=row["title"],
            title_marked=row["title_marked"] or row["title"],
            type=row["type"],
            status=row["status"],
            snippet_marked=row["snippet"] or "",
            body=row["body"],
            rank=float(row["rank"]),
            authors=msgspec.json.decode(row["authors"], type=list[Person]),
            carnets=msgspec.json.decode(row["carnets"], type=list[CarnetRef]),
            updated_at=row["updated_at"],
            published_at=row["published_at"],
        )
        for row in rows
    ]
    return hits, total


async def _count(conn: asyncpg.Connection, query: _Query, conditions: list[str], q: str) -> int:
    """The number of matches, for a page past the end (which carries no window count)."""
    params = query.params[:-2]  # without LIMIT and OFFSET
    value = await conn.fetchval(
        f"""
        WITH q AS (SELECT websearch_to_tsquery('carnet_fr', {q}) AS fr,
                          websearch_to_tsquery('carnet_en', {q}) AS en)
        SELECT count(*) FROM note_search s CROSS JOIN q
          JOIN notes n ON n.id = s.note_id
          LEFT JOIN note_publications p ON p.note_id = s.note_id AND p.withdrawn_at IS NULL
         WHERE {" AND ".join(conditions)}
        """,
        *params,
    )
    return int(value)
