"""Users, browser sessions and API tokens."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from carnet.errors import conflict
from carnet.ids import new_id, new_secret, secret_hash
from carnet.models import ApiToken, Person, User

_USER_COLUMNS = "id, email, display_name AS name, created_at"
_JOINED_USER_COLUMNS = "u.id, u.email, u.display_name AS name, u.created_at"

SESSION_PREFIX = "cs_"
TOKEN_PREFIX = "ct_"  # noqa: S105


def _user(row: asyncpg.Record) -> User:
    return User(id=row["id"], email=row["email"], name=row["name"], created_at=row["created_at"])


async def create_user(
    conn: asyncpg.Connection, *, email: str, name: str, password_hash: str
) -> User:
    try:
        row = await conn.fetchrow(
            f"INSERT INTO users (id, email, display_name, password_hash) "
            f"VALUES ($1, $2, $3, $4) RETURNING {_USER_COLUMNS}",
            new_id(),
            email,
            name,
            password_hash,
        )
    except asyncpg.UniqueViolationError:
        raise conflict(
            "email_taken",
            f"Un compte existe déjà pour {email}.",
            f"An account already exists for {email}.",
        ) from None
    assert row is not None
    return _user(row)


async def user_by_id(conn: asyncpg.Connection, user_id: str) -> User | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM users WHERE id = $1", user_id)
    return _user(row) if row else None


async def user_by_email(conn: asyncpg.Connection, email: str) -> User | None:
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
    )
    return _user(row) if row else None


async def password_hash_for(conn: asyncpg.Connection, email: str) -> tuple[User, str] | None:
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE lower(email) = lower($1)", email
    )
    return (_user(row), row["password_hash"]) if row else None


async def set_password_hash(conn: asyncpg.Connection, user_id: str, password_hash: str) -> None:
    await conn.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


async def rename_user(conn: asyncpg.Connection, user_id: str, name: str) -> None:
    await conn.execute(
        "UPDATE users SET display_name = $2, updated_at = now() WHERE id = $1", user_id, name
    )


async def list_users(
    conn: asyncpg.Connection, *, limit: int, offset: int
) -> tuple[list[User], int]:
    rows = await conn.fetch(
        f"SELECT {_USER_COLUMNS}, count(*) OVER () AS total FROM users "
        "ORDER BY created_at, id LIMIT $1 OFFSET $2",
        limit,
        offset,
    )
    total = rows[0]["total"] if rows else await conn.fetchval("SELECT count(*) FROM users")
    return [_user(row) for row in rows], total


async def end_sessions(conn: asyncpg.Connection, user_id: str) -> None:
    """End every browser session of a user (after a password reset)."""
    await conn.execute("DELETE FROM browser_sessions WHERE user_id = $1", user_id)


# Browser sessions -----------------------------------------------------------


async def create_session(conn: asyncpg.Connection, user_id: str, *, lifetime: timedelta) -> str:
    token = new_secret(SESSION_PREFIX)
    await conn.execute(
        "INSERT INTO browser_sessions (token_hash, user_id, expires_at) "
        "VALUES ($1, $2, now() + $3)",
        secret_hash(token),
        user_id,
        lifetime,
    )
    return token


async def user_for_session(conn: asyncpg.Connection, token: str) -> User | None:
    row = await conn.fetchrow(
        f"UPDATE browser_sessions s SET last_seen_at = now() FROM users u "
        f"WHERE s.token_hash = $1 AND s.expires_at > now() AND u.id = s.user_id "
        f"RETURNING {_JOINED_USER_COLUMNS}",
        secret_hash(token),
    )
    return _user(row) if row else None


async def delete_session(conn: asyncpg.Connection, token: str) -> str | None:
    """End a browser session; returns whose it was (None if there was none)."""
    user_id: str | None = await conn.fetchval(
        "DELETE FROM browser_sessions WHERE token_hash = $1 RETURNING user_id", secret_hash(token)
    )
    return user_id


# API tokens ------------------------------------------------------------------

_TOKEN_COLUMNS = "id, label, created_at, last_used_at, revoked_at"  # noqa: S105


def _token(row: asyncpg.Record) -> ApiToken:
    return ApiToken(
        id=row["id"],
        label=row["label"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


async def create_token(conn: asyncpg.Connection, user_id: str, label: str) -> tuple[ApiToken, str]:
    secret = new_secret(TOKEN_PREFIX)
    row = await conn.fetchrow(
        f"INSERT INTO api_tokens (id, user_id, label, token_hash) VALUES ($1, $2, $3, $4) "
        f"RETURNING {_TOKEN_COLUMNS}",
        new_id(),
        user_id,
        label,
        secret_hash(secret),
    )
    assert row is not None
    return _token(row), secret


async def user_for_token(conn: asyncpg.Connection, secret: str) -> User | None:
    row = await conn.fetchrow(
        f"UPDATE api_tokens t SET last_used_at = now() FROM users u "
        f"WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.id = t.user_id "
        f"RETURNING {_JOINED_USER_COLUMNS}",
        secret_hash(secret),
    )
    return _user(row) if row else None


async def list_tokens(conn: asyncpg.Connection, user_id: str) -> list[ApiToken]:
    rows = await conn.fetch(
        f"SELECT {_TOKEN_COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id",
        user_id,
    )
    return [_token(row) for row in rows]


async def revoke_token(conn: asyncpg.Connection, token_id: str, *, user_id: str | None) -> bool:
    """Revoke a token (only one of ``user_id``'s when given); False if there was none."""
    result = await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() "
        "WHERE id = $1 AND revoked_at IS NULL AND ($2::text IS NULL OR user_id = $2)",
        token_id,
        user_id,
    )
    return result != "UPDATE 0"


# Sign-in rate limiting ---------------------------------------------------------


async def recent_login_failures(
    conn: asyncpg.Connection, keys: list[str], window: timedelta
) -> int:
    """The most failures any of ``keys`` (an address, an email) had within ``window``."""
    value = await conn.fetchval(
        "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM login_failures "
        # $2 must be cast: left to inference, ``now() - $2`` reads $2 as a
        # timestamp, the difference is an interval, and the comparison fails.
        "WHERE key = ANY($1::text[]) AND failed_at > now() - $2::interval GROUP BY key) counts",
        keys,
        window,
    )
    return int(value)


async def record_login_failure(conn: asyncpg.Connection, keys: list[str]) -> None:
    await conn.executemany("INSERT INTO login_failures (key) VALUES ($1)", [(k,) for k in keys])
    # Keep the table small: failures older than a day matter to nobody.
    await conn.execute("DELETE FROM login_failures WHERE failed_at < now() - interval '1 day'")


async def people(conn: asyncpg.Connection, user_ids: list[str]) -> dict[str, Person]:
    rows = await conn.fetch(
        "SELECT id, display_name FROM users WHERE id = ANY($1::text[])", user_ids
    )
    return {row["id"]: Person(id=row["id"], name=row["display_name"]) for row in rows}
