"""The live body of notes: update log, snapshots and revisions.

The log is append-only. A snapshot replaces the rows it folds in the same
transaction, so a crash at any point leaves either the old rows or the new
snapshot, never neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from carnet.ids import new_id


@dataclass(frozen=True, slots=True)
class NewUpdate:
    note_id: str
    data: bytes
    user_id: str | None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """What is needed to rebuild a note's document."""

    snapshot: bytes | None
    snapshot_seq: int
    updates: list[bytes]
    last_seq: int

    @property
    def log_bytes(self) -> int:
        return sum(len(update) for update in self.updates)


async def append_updates(conn: asyncpg.Connection, batch: Sequence[NewUpdate]) -> list[int | None]:
    """Append a batch (several notes mixed) and return each update's sequence number.

    One statement, so outside a transaction block it is one round trip and
    one commit. Updates of notes deleted meanwhile are dropped (None): nobody
    can open them any more.
    """
    rows = await conn.fetch(
        """
        WITH batch AS (
            SELECT b.note_id, b.data, b.user_id, b.ord
              FROM unnest($1::text[], $2::bytea[], $3::text[])
                   WITH ORDINALITY AS b(note_id, data, user_id, ord)
        ), counts AS (
            SELECT note_id, count(*) AS n FROM batch GROUP BY note_id
        ), heads AS (
            INSERT INTO note_heads AS h (note_id, last_seq)
            SELECT c.note_id, c.n FROM counts c
             WHERE EXISTS (SELECT 1 FROM notes WHERE id = c.note_id)
            ON CONFLICT (note_id) DO UPDATE SET last_seq = h.last_seq + excluded.last_seq
            RETURNING h.note_id, h.last_seq
        ), numbered AS (
            SELECT b.ord, b.note_id, b.data, b.user_id,
                   h.last_seq - c.n + row_number() OVER (PARTITION BY b.note_id ORDER BY b.ord)
                       AS seq
              FROM batch b JOIN counts c USING (note_id) JOIN heads h USING (note_id)
        ), stored AS (
            INSERT INTO note_updates (note_id, seq, data, user_id)
            SELECT note_id, seq, data, user_id FROM numbered
        )
        SELECT ord, seq FROM numbered
        """,
        [update.note_id for update in batch],
        [update.data for update in batch],
        [update.user_id for update in batch],
    )
    seqs: list[int | None] = [None] * len(batch)
    for row in rows:
        seqs[row["ord"] - 1] = row["seq"]
    return seqs


async def load_document(conn: asyncpg.Connection, note_id: str) -> StoredDocument:
    """The snapshot and the log rows after it.

    One statement, so it sees one consistent state even if a compaction
    commits meanwhile.
    """
    row = await conn.fetchrow(
        """
        SELECT s.seq AS snapshot_seq, s.state,
               coalesce(l.updates, '{}') AS updates, l.last_seq
          FROM (SELECT 1) AS one
          LEFT JOIN note_snapshots s ON s.note_id = $1
          LEFT JOIN LATERAL (
                SELECT array_agg(u.data ORDER BY u.seq) AS updates, max(u.seq) AS last_seq
                  FROM note_updates u
                 WHERE u.note_id = $1 AND u.seq > coalesce(s.seq, 0)) AS l ON true
        """,
        note_id,
    )
    assert row is not None
    snapshot_seq = row["snapshot_seq"] or 0
    return StoredDocument(
        snapshot=row["state"],
        snapshot_seq=snapshot_seq,
        updates=list(row["updates"]),
        last_seq=row["last_seq"] or snapshot_seq,
    )


async def updates_after(
    conn: asyncpg.Connection, note_id: str, seq: int
) -> list[tuple[int, bytes]] | None:
    """Log rows after ``seq``; None when a snapshot has already folded some of them."""
    row = await conn.fetchrow(
        """
        SELECT s.seq AS snapshot_seq,
               coalesce(l.seqs, '{}') AS seqs, coalesce(l.updates, '{}') AS updates
          FROM (SELECT 1) AS one
          LEFT JOIN note_snapshots s ON s.note_id = $1
          LEFT JOIN LATERAL (
                SELECT array_agg(u.seq ORDER BY u.seq) AS seqs,
                       array_agg(u.data ORDER BY u.seq) AS updates
                  FROM note_updates u WHERE u.note_id = $1 AND u.seq > $2) AS l ON true
        """,
        note_id,
        seq,
    )
    assert row is not None
    if row["snapshot_seq"] is not None and row["snapshot_seq"] > seq:
        return None
    return list(zip(row["seqs"], row["updates"], strict=True))


async def save_snapshot(conn: asyncpg.Connection, note_id: str, seq: int, state: bytes) -> bool:
    """Fold the log up to ``seq`` into ``state``; False if a newer snapshot exists.

    An advisory lock per note makes compaction one process at a time.
    """
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('carnet-compact:' || $1))", note_id
        )
        saved = await conn.fetchval(
            """
            INSERT INTO note_snapshots AS s (note_id, seq, state) VALUES ($1, $2, $3)
            ON CONFLICT (note_id) DO UPDATE SET seq = excluded.seq, state = excluded.state,
                                                created_at = now()
             WHERE s.seq < excluded.seq
            RETURNING true
            """,
            note_id,
            seq,
            state,
        )
        if not saved:
            return False
        await conn.execute(
            "DELETE FROM note_updates WHERE note_id = $1 AND seq <= $2", note_id, seq
        )
        return True


async def log_size(conn: asyncpg.Connection, note_id: str) -> tuple[int, int]:
    """Rows and bytes in the log after the snapshot."""
    row = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM note_updates u "
        "WHERE note_id = $1 AND seq > coalesce((SELECT seq FROM note_snapshots s "
        "WHERE s.note_id = $1), 0)",
        note_id,
    )
    assert row is not None
    return row["n"], row["bytes"]


# Revisions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Revision:
    id: str
    note_id: str
    seq: int
    reason: str
    contributors: list[str]
    created_by: str | None
    created_at: datetime


_REVISION_COLUMNS = "id, note_id, seq, reason, contributors, created_by, created_at"


def _revision(row: asyncpg.Record) -> Revision:
    return Revision(
        id=row["id"],
        note_id=row["note_id"],
        seq=row["seq"],
        reason=row["reason"],
        contributors=list(row["contributors"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


async def add_revision(
    conn: asyncpg.Connection,
    note_id: str,
    *,
    seq: int,
    state: bytes,
    reason: str,
    contributors: Sequence[str],
    created_by: str | None,
) -> Revision:
    row = await conn.fetchrow(
        f"INSERT INTO note_revisions (id, note_id, seq, state, reason, contributors, created_by) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_REVISION_COLUMNS}",
        new_id(),
        note_id,
        seq,
        state,
        reason,
        list(contributors),
        created_by,
    )
    assert row is not None
    return _revision(row)


async def latest_revision_seq(conn: asyncpg.Connection, note_id: str) -> int:
    value = await conn.fetchval(
        "SELECT coalesce(max(seq), 0) FROM note_revisions WHERE note_id = $1", note_id
    )
    return int(value)


async def list_revisions(
    conn: asyncpg.Connection, note_id: str, *, limit: int, offset: int
) -> tuple[list[Revision], int]:
    rows = await conn.fetch(
        f"SELECT {_REVISION_COLUMNS}, count(*) OVER () AS total FROM note_revisions "
        "WHERE note_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
        note_id,
        limit,
        offset,
    )
    return [_revision(row) for row in rows], rows[0]["total"] if rows else 0


async def revision_state(
    conn: asyncpg.Connection, note_id: str, revision_id: str
) -> tuple[Revision, bytes] | None:
    row = await conn.fetchrow(
        f"SELECT {_REVISION_COLUMNS}, state FROM note_revisions WHERE note_id = $1 AND id = $2",
        note_id,
        revision_id,
    )
    return (_revision(row), row["state"]) if row else None
