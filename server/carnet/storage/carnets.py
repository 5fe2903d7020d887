"""Carnets, their members and invitation links."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from carnet.errors import AppError, conflict, invalid, not_found
from carnet.ids import new_id, new_secret, secret_hash
from carnet.models import Carnet, Invitation, Member, Person, Role, Visibility
from carnet.storage import page_total

INVITATION_PREFIX = "ci_"

# $1 is the viewing user (may be NULL). Non-members count only the notes they
# could open, so a count never reveals private notes.
_CARNET_SELECT = """
SELECT c.*, u.id AS creator_id, u.display_name AS creator_name, m.role AS my_role,
       (SELECT count(*) FROM carnet_notes cn JOIN notes n ON n.id = cn.note_id
         WHERE cn.carnet_id = c.id
           AND (m.role IS NOT NULL OR n.visibility = 'public'
                OR EXISTS (SELECT 1 FROM note_authors a
                            WHERE a.note_id = n.id AND a.user_id = $1))) AS note_count,
       count(*) OVER () AS total
  FROM carnets c
  LEFT JOIN users u ON u.id = c.created_by
  LEFT JOIN carnet_members m ON m.carnet_id = c.id AND m.user_id = $1
"""


def person(row: asyncpg.Record, prefix: str) -> Person | None:
    person_id = row[f"{prefix}_id"]
    return Person(id=person_id, name=row[f"{prefix}_name"]) if person_id else None


def _carnet(row: asyncpg.Record) -> Carnet:
    return Carnet(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        event_name=row["event_name"],
        event_start=row["event_start"],
        event_end=row["event_end"],
        event_place=row["event_place"],
        visibility=Visibility(row["visibility"]),
        writing_guide=row["writing_guide"],
        categories=list(row["categories"]),
        created_by=person(row, "creator"),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        note_count=row["note_count"],
        my_role=Role(row["my_role"]) if row["my_role"] else None,
    )


CARNET_FIELDS = (
    "title",
    "description",
    "event_name",
    "event_start",
    "event_end",
    "event_place",
    "visibility",
    "writing_guide",
    "categories",
)


def _check_dates(start: date | None, end: date | None) -> None:
    if start and end and end < start:
        raise invalid(
            "event_dates",
            "La date de fin précède la date de début.",
            "The end date is before the start date.",
        )


def _check_categories(categories: list[str] | None) -> None:
    # A category is picked by its name: two of the same name could not be told apart.
    if categories and len(set(categories)) != len(categories):
        raise invalid(
            "duplicate_category",
            "Une catégorie figure deux fois.",
            "A category is listed twice.",
        )


async def create_carnet(conn: asyncpg.Connection, user_id: str, fields: dict[str, Any]) -> Carnet:
    _check_dates(fields.get("event_start"), fields.get("event_end"))
    _check_categories(fields.get("categories"))
    carnet_id = new_id()
    columns = [name for name in CARNET_FIELDS if name in fields]
    placeholders = ", ".join(f"${i}" for i in range(3, len(columns) + 3))
    await conn.execute(
        f"INSERT INTO carnets (id, created_by, {', '.join(columns)}) "
        f"VALUES ($1, $2, {placeholders})",
        carnet_id,
        user_id,
        *(fields[name] for name in columns),
    )
    await conn.execute(
        "INSERT INTO carnet_members (carnet_id, user_id, role, added_by) "
        "VALUES ($1, $2, 'manager', $2)",
        carnet_id,
        user_id,
    )
    carnet = await get_carnet(conn, carnet_id, user_id)
    assert carnet is not None
    return carnet


async def get_carnet(
    conn: asyncpg.Connection, carnet_id: str, user_id: str | None
) -> Carnet | None:
    row = await conn.fetchrow(_CARNET_SELECT + " WHERE c.id = $2", user_id, carnet_id)
    return _carnet(row) if row else None


async def update_carnet(
    conn: asyncpg.Connection, carnet_id: str, user_id: str, fields: dict[str, Any]
) -> Carnet:
    current = await get_carnet(conn, carnet_id, user_id)
    if current is None:
        raise not_found()
    _check_dates(
        fields.get("event_start", current.event_start), fields.get("event_end", current.event_end)
    )
    _check_categories(fields.get("categories"))
    columns = [name for name in CARNET_FIELDS if name in fields]
    if columns:
        assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(columns, start=2))
        await conn.execute(
            f"UPDATE carnets SET {assignments}, updated_at = now() WHERE id = $1",
            carnet_id,
            *(fields[name] for name in columns),
        )
    carnet = await get_carnet(conn, carnet_id, user_id)
    assert carnet is not None
    return carnet


async def delete_carnet(conn: asyncpg.Connection, carnet_id: str) -> None:
    await conn.execute("DELETE FROM carnets WHERE id = $1", carnet_id)


async def list_carnets(
    conn: asyncpg.Connection, user_id: str | None, *, mine: bool, limit: int, offset: int
) -> tuple[list[Carnet], int]:
    """The user's carnets (``mine``), or the public ones."""
    where = "m.role IS NOT NULL" if mine else "c.visibility = 'public'"
    rows = await conn.fetch(
        _CARNET_SELECT + f" WHERE {where} ORDER BY c.updated_at DESC, c.id LIMIT $2 OFFSET $3",
        user_id,
        limit,
        offset,
    )
    total = await page_total(
        conn,
        rows,
        offset,
        "SELECT count(*) FROM carnets c LEFT JOIN carnet_members m "
        f"ON m.carnet_id = c.id AND m.user_id = $1 WHERE {where}",
        user_id,
    )
    return [_carnet(row) for row in rows], total


# Members ---------------------------------------------------------------------


def _member(row: asyncpg.Record) -> Member:
    return Member(
        user=Person(id=row["user_id"], name=row["name"]),
        role=Role(row["role"]),
        added_at=row["added_at"],
    )


async def list_members(
    conn: asyncpg.Connection, carnet_id: str, *, limit: int, offset: int
) -> tuple[list[Member], int]:
    rows = await conn.fetch(
        "SELECT m.user_id, u.display_name AS name, m.role, m.added_at, count(*) OVER () AS total "
        "FROM carnet_members m JOIN users u ON u.id = m.user_id WHERE m.carnet_id = $1 "
        "ORDER BY m.added_at, m.user_id LIMIT $2 OFFSET $3",
        carnet_id,
        limit,
        offset,
    )
    total = await page_total(
        conn, rows, offset, "SELECT count(*) FROM carnet_members WHERE carnet_id = $1", carnet_id
    )
    return [_member(row) for row in rows], total


async def get_member(conn: asyncpg.Connection, carnet_id: str, user_id: str) -> Member | None:
    row = await conn.fetchrow(
        "SELECT m.user_id, u.display_name AS name, m.role, m.added_at "
        "FROM carnet_members m JOIN users u ON u.id = m.user_id "
        "WHERE m.carnet_id = $1 AND m.user_id = $2",
        carnet_id,
        user_id,
    )
    return _member(row) if row else None


async def add_member(
    conn: asyncpg.Connection, carnet_id: str, user_id: str, role: Role, added_by: str
) -> Member:
    inserted = await conn.fetchval(
        "INSERT INTO carnet_members (carnet_id, user_id, role, added_by) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT DO NOTHING RETURNING true",
        carnet_id,
        user_id,
        role,
        added_by,
    )
    if not inserted:
        raise conflict(
            "already_member",
            "Cette personne est déjà membre du carnet.",
            "This person is already a member of the carnet.",
        )
    member = await get_member(conn, carnet_id, user_id)
    assert member is not None
    return member


async def _ensure_other_manager(conn: asyncpg.Connection, carnet_id: str, user_id: str) -> None:
    others = await conn.fetchval(
        "SELECT count(*) FROM carnet_members "
        "WHERE carnet_id = $1 AND role = 'manager' AND user_id <> $2",
        carnet_id,
        user_id,
    )
    if others == 0:
        raise conflict(
            "last_manager",
            "Un carnet doit garder au moins une personne responsable.",
            "A carnet must keep at least one manager.",
        )


async def change_member_role(
    conn: asyncpg.Connection, carnet_id: str, user_id: str, role: Role
) -> Member:
    current = await get_member(conn, carnet_id, user_id)
    if current is None:
        raise not_found()
    if current.role is Role.MANAGER and role is not Role.MANAGER:
        await _ensure_other_manager(conn, carnet_id, user_id)
    await conn.execute(
        "UPDATE carnet_members SET role = $3 WHERE carnet_id = $1 AND user_id = $2",
        carnet_id,
        user_id,
        role,
    )
    member = await get_member(conn, carnet_id, user_id)
    assert member is not None
    return member


async def remove_member(conn: asyncpg.Connection, carnet_id: str, user_id: str) -> None:
    current = await get_member(conn, carnet_id, user_id)
    if current is None:
        raise not_found()
    if current.role is Role.MANAGER:
        await _ensure_other_manager(conn, carnet_id, user_id)
    await conn.execute(
        "DELETE FROM carnet_members WHERE carnet_id = $1 AND user_id = $2", carnet_id, user_id
    )


# Invitations -------------------------------------------------------------------

_INVITATION_SELECT = (
    "SELECT i.*, u.id AS creator_id, u.display_name AS creator_name, count(*) OVER () AS total "
    "FROM invitations i LEFT JOIN users u ON u.id = i.created_by"
)


def _invitation(row: asyncpg.Record) -> Invitation:
    return Invitation(
        id=row["id"],
        carnet_id=row["carnet_id"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        max_uses=row["max_uses"],
        uses=row["uses"],
        revoked_at=row["revoked_at"],
        created_by=person(row, "creator"),
    )


async def create_invitation(
    conn: asyncpg.Connection,
    carnet_id: str,
    *,
    role: Role,
    created_by: str,
    expires_at: datetime | None,
    max_uses: int | None,
) -> tuple[Invitation, str]:
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise invalid(
            "expiry_past",
            "La date d’expiration est déjà passée.",
            "The expiry date is already past.",
        )
    secret = new_secret(INVITATION_PREFIX)
    invitation_id = new_id()
    await conn.execute(
        "INSERT INTO invitations "
        "(id, carnet_id, token_hash, role, created_by, expires_at, max_uses) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        invitation_id,
        carnet_id,
        secret_hash(secret),
        role,
        created_by,
        expires_at,
        max_uses,
    )
    row = await conn.fetchrow(_INVITATION_SELECT + " WHERE i.id = $1", invitation_id)
    assert row is not None
    return _invitation(row), secret


async def list_invitations(
    conn: asyncpg.Connection, carnet_id: str, *, limit: int, offset: int
) -> tuple[list[Invitation], int]:
    rows = await conn.fetch(
        _INVITATION_SELECT + " WHERE i.carnet_id = $1 ORDER BY i.created_at DESC, i.id "
        "LIMIT $2 OFFSET $3",
        carnet_id,
        limit,
        offset,
    )
    total = await page_total(
        conn, rows, offset, "SELECT count(*) FROM invitations WHERE carnet_id = $1", carnet_id
    )
    return [_invitation(row) for row in rows], total


async def revoke_invitation(conn: asyncpg.Connection, carnet_id: str, invitation_id: str) -> None:
    result = await conn.execute(
        "UPDATE invitations SET revoked_at = coalesce(revoked_at, now()) "
        "WHERE id = $1 AND carnet_id = $2",
        invitation_id,
        carnet_id,
    )
    if result == "UPDATE 0":
        raise not_found()


def _invitation_gone() -> AppError:
    return AppError(
        410,
        "invitation_invalid",
        "Ce lien d’invitation n’est plus valide (expiré, épuisé ou révoqué).",
        "This invitation link is no longer valid (expired, used up or revoked).",
    )


async def accept_invitation(
    conn: asyncpg.Connection, secret: str, user_id: str
) -> tuple[str, Role]:
    """Join the invitation's carnet; returns (carnet id, the user's role there).

    A member keeps a higher role than the invitation's; an invitation used by
    someone already at that role or above does not count as a use.
    """
    row = await conn.fetchrow(
        "SELECT id, carnet_id, role, expires_at < now() AS expired, "
        "max_uses IS NOT NULL AND uses >= max_uses AS used_up, revoked_at IS NOT NULL AS revoked "
        "FROM invitations WHERE token_hash = $1 FOR UPDATE",
        secret_hash(secret),
    )
    if row is None:
        raise not_found("Invitation introuvable.", "Invitation not found.")
    if row["expired"] or row["used_up"] or row["revoked"]:
        raise _invitation_gone()
    offered = Role(row["role"])
    current = await get_member(conn, row["carnet_id"], user_id)
    if current is not None and current.role.rank >= offered.rank:
        return row["carnet_id"], current.role
    await conn.execute(
        "INSERT INTO carnet_members (carnet_id, user_id, role, added_by) "
        "SELECT carnet_id, $2, role, created_by FROM invitations WHERE id = $1 "
        "ON CONFLICT (carnet_id, user_id) DO UPDATE SET role = excluded.role",
        row["id"],
        user_id,
    )
    await conn.execute("UPDATE invitations SET uses = uses + 1 WHERE id = $1", row["id"])
    return row["carnet_id"], offered
