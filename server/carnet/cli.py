"""The ``carnet`` command: serve, migrate, and manage accounts and tokens."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import asyncpg
import click
import msgspec

from carnet.config import ConfigError, load_settings
from carnet.errors import AppError
from carnet.storage import accounts
from carnet.storage.migrate import upgrade

T = TypeVar("T")


@contextmanager
def database_url() -> Iterator[str]:
    """The configured database, or the embedded one started for the duration."""
    configured = os.environ.get("CARNET_DATABASE_URL", "").strip()
    if configured:
        yield configured
        return
    from carnet.embedded import EmbeddedPostgres, default_data_dir

    with EmbeddedPostgres(default_data_dir()) as server:
        yield server.url


def _ensure_secret_key() -> None:
    """Without CARNET_SECRET_KEY, keep one in the data directory so every process shares it."""
    if os.environ.get("CARNET_SECRET_KEY", "").strip():
        return
    from carnet.embedded import default_data_dir

    key_file = default_data_dir().parent / "secret_key"
    key_file.parent.mkdir(parents=True, exist_ok=True)
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(32))
        key_file.chmod(0o600)
    os.environ["CARNET_SECRET_KEY"] = key_file.read_text().strip()


def _run(job: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``job`` in one transaction on a migrated database; AppError → clear exit."""

    async def main(url: str) -> T:
        conn = await asyncpg.connect(url)
        try:
            await upgrade(conn)
            async with conn.transaction():
                return await job(conn)
        finally:
            await conn.close()

    try:
        with database_url() as url:
            return asyncio.run(main(url))
    except AppError as error:
        raise click.ClickException(f"{error.fr} / {error.en}") from None
    except OSError as error:
        message = f"Base de données injoignable / database unreachable: {error}"
        raise click.ClickException(message) from None
    except asyncpg.PostgresError as error:
        # Not "unreachable": the server answered (unknown database, refused value...).
        message = f"Erreur de la base de données / database error: {error}"
        raise click.ClickException(message) from None


def _checked(value: str, kind: str, what: str) -> str:
    """``value`` checked by the API's own rule for ``kind`` (``Email`` or ``Name``)."""
    # Imported here: the other commands do not need the API's schemas.
    from carnet.api import schemas

    try:
        return str(msgspec.convert(value, getattr(schemas, kind)))
    except msgspec.ValidationError:
        raise click.ClickException(f"{what} : {value!r}") from None


@click.group()
def main() -> None:
    """Carnet — carnets de notes collaboratifs en direct / live collaborative notebooks."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Run the web server (with an embedded PostgreSQL if CARNET_DATABASE_URL is unset)."""
    import uvicorn

    # Imported here: it pulls in Litestar, which the account commands never need.
    from carnet.logs import logging_config

    try:
        settings = load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if workers > 1 and settings.redis_url is None:
        # Without fan-out, two people on one note but on different processes
        # would not see each other's typing.
        raise click.ClickException(
            "--workers > 1 demande CARNET_REDIS_URL (diffusion entre processus) / "
            "--workers > 1 needs CARNET_REDIS_URL (fan-out between processes)"
        )
    _ensure_secret_key()
    with database_url() as url:
        # Worker processes read their settings from the environment.
        os.environ["CARNET_DATABASE_URL"] = url
        uvicorn.run(
            "carnet.asgi:create_app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            proxy_headers=True,
            log_config=logging_config(),
            ws_max_size=16 * 1024 * 1024,
            # Yjs updates are small and binary: compressing every frame for every
            # viewer would cost more CPU than it saves bytes.
            ws_per_message_deflate=False,
        )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (safe to run any number of times)."""

    async def job(conn: asyncpg.Connection) -> list[str]:
        return []

    _run(job)
    click.echo("Base de données à jour / database up to date")


@main.group()
def user() -> None:
    """Accounts."""


def _password(password: str | None) -> str:
    if password is None:
        password = click.prompt(
            "Mot de passe / password", hide_input=True, confirmation_prompt=True
        )
    # Imported here: importing it computes an Argon2 hash (a fifth of a second)
    # that only the commands taking a password need.
    from carnet.auth.passwords import hash_password_sync

    try:
        return hash_password_sync(password)
    except AppError as error:
        raise click.ClickException(f"{error.fr} / {error.en}") from None


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", help="Prompted for when omitted.")
def user_create(email: str, name: str, password: str | None) -> None:
    """Create an account."""
    email = _checked(email.strip(), "Email", "Adresse courriel invalide / invalid email address")
    name = _checked(name.strip(), "Name", "Nom invalide (1 à 120 caractères) / invalid name")
    password_hash = _password(password)

    async def job(conn: asyncpg.Connection) -> str:
        created = await accounts.create_user(
            conn, email=email.strip(), name=name.strip(), password_hash=password_hash
        )
        return created.id

    click.echo(_run(job))


@user.command("list")
def user_list() -> None:
    """List accounts: id, email, name."""

    async def job(conn: asyncpg.Connection) -> list[str]:
        users, _ = await accounts.list_users(conn, limit=100_000, offset=0)
        return [f"{u.id}\t{u.email}\t{u.name}" for u in users]

    for line in _run(job):
        click.echo(line)


@user.command("password")
@click.option("--email", required=True)
@click.option("--password", help="Prompted for when omitted.")
def user_password(email: str, password: str | None) -> None:
    """Reset a password; the person's browser sessions end."""
    password_hash = _password(password)

    async def job(conn: asyncpg.Connection) -> None:
        found = await accounts.user_by_email(conn, email)
        if found is None:
            raise click.ClickException(f"Aucun compte / no account: {email}")
        await accounts.set_password_hash(conn, found.id, password_hash)
        await accounts.end_sessions(conn, found.id)

    _run(job)
    click.echo("Mot de passe changé / password changed")


@main.group()
def token() -> None:
    """API tokens (``Authorization: Bearer …``)."""


@token.command("create")
@click.option("--email", required=True)
@click.option("--label", default="CLI", show_default=True)
def token_create(email: str, label: str) -> None:
    """Create a token; it is printed once, on the last line."""
    label = _checked(label, "Name", "Libellé invalide (1 à 120 caractères) / invalid label")

    async def job(conn: asyncpg.Connection) -> tuple[str, str]:
        found = await accounts.user_by_email(conn, email)
        if found is None:
            raise click.ClickException(f"Aucun compte / no account: {email}")
        created, secret = await accounts.create_token(conn, found.id, label)
        return created.id, secret

    token_id, secret = _run(job)
    click.echo(f"# token id: {token_id}", err=True)
    click.echo(secret)


@token.command("list")
@click.option("--email", required=True)
def token_list(email: str) -> None:
    """List a person's tokens: id, label, created, last used, revoked."""

    async def job(conn: asyncpg.Connection) -> list[str]:
        found = await accounts.user_by_email(conn, email)
        if found is None:
            raise click.ClickException(f"Aucun compte / no account: {email}")
        return [
            f"{t.id}\t{t.label}\t{t.created_at:%Y-%m-%d %H:%M}\t"
            f"{t.last_used_at or '-'}\t{'revoked' if t.revoked_at else 'active'}"
            for t in await accounts.list_tokens(conn, found.id)
        ]

    for line in _run(job):
        click.echo(line)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by id; it stops working at once."""

    async def job(conn: asyncpg.Connection) -> bool:
        return await accounts.revoke_token(conn, token_id, user_id=None)

    if not _run(job):
        raise click.ClickException(f"Jeton inconnu ou déjà révoqué / unknown token: {token_id}")
    click.echo("Jeton révoqué / token revoked")


if __name__ == "__main__":
    sys.exit(main())
