"""The ``carnet`` console script, run for real in child processes.

Independent commands run side by side: each one starts a Python interpreter.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from carnet.storage import accounts
from carnet.storage.migrate import available_migrations
from tests.support import ADMIN_URL, RunningServer, database_url_for

_SCRIPT = Path(sys.executable).with_name("carnet")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "carnet.cli"]


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.strip().splitlines()[-1]


async def carnet(database_url: str, *args: str) -> Run:
    env = {**os.environ, "CARNET_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def _email() -> str:
    return f"cli-{secrets.token_hex(4)}@example.org"


@pytest.fixture
async def empty_database() -> AsyncIterator[str]:
    name = f"carnet_cli_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield database_url_for(name)
    admin = await asyncpg.connect(ADMIN_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def test_the_console_script_is_installed() -> None:
    assert shutil.which("carnet", path=str(_SCRIPT.parent)), "pip install -e . makes `carnet`"


async def test_db_upgrade_twice(empty_database: str) -> None:
    for _ in range(2):
        run = await carnet(empty_database, "db", "upgrade")
        assert run.code == 0, run.err
        assert "database up to date" in run.out
    conn = await asyncpg.connect(empty_database)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")]
    finally:
        await conn.close()
    assert sorted(versions) == [m.version for m in available_migrations()]


async def test_user_create_and_duplicates(database_url: str) -> None:
    email = _email()
    run = await carnet(
        database_url, "user", "create", "--email", email, "--name", "Alice Rivard",
        "--password", "motdepasse-solide",
    )  # fmt: skip
    assert run.code == 0, run.err
    user_id = run.last_line
    assert len(user_id) == 12
    again, upper, bad_email, blank_name, listed = await asyncio.gather(
        carnet(database_url, "user", "create", "--email", email, "--name", "Autre",
               "--password", "motdepasse-solide"),
        carnet(database_url, "user", "create", "--email", email.upper(), "--name", "Autre",
               "--password", "motdepasse-solide"),
        carnet(database_url, "user", "create", "--email", "pas-une-adresse", "--name", "X",
               "--password", "motdepasse-solide"),
        carnet(database_url, "user", "create", "--email", _email(), "--name", "   ",
               "--password", "motdepasse-solide"),
        carnet(database_url, "user", "list"),
    )  # fmt: skip
    for run in (again, upper):
        assert run.code != 0
        assert "already exists" in run.err and "existe déjà" in run.err, run.err
        assert "Traceback" not in run.err
    assert bad_email.code != 0 and "invalid email" in bad_email.err
    assert blank_name.code != 0 and "invalid name" in blank_name.err
    assert listed.code == 0, listed.err
    rows = [line.split("\t") for line in listed.out.splitlines()]
    assert [user_id, email, "Alice Rivard"] in rows
    assert sum(1 for row in rows if row[1].lower() == email) == 1


async def test_tokens(database_url: str, server: RunningServer, db: asyncpg.Pool) -> None:
    email = _email()  # an account made directly: `user create` is tested above
    async with db.acquire() as conn:
        await accounts.create_user(conn, email=email, name="Bruno", password_hash="-")
    made, unknown = await asyncio.gather(
        carnet(database_url, "token", "create", "--email", email.upper(), "--label", "import"),
        carnet(database_url, "token", "create", "--email", _email()),
    )
    assert made.code == 0, made.err
    token = made.last_line
    assert token.startswith("ct_") and len(token) > 40
    assert unknown.code != 0 and "no account" in unknown.err
    async with httpx.AsyncClient(
        base_url=server.base_url, headers={"authorization": f"Bearer {token}"}
    ) as client:
        me = await client.get("/api/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["user"]["email"] == email
        response = await client.post("/api/carnets", json={"title": "Depuis un script"})
        assert response.status_code == 201, response.text

        listed = await carnet(database_url, "token", "list", "--email", email)
        assert listed.code == 0, listed.err
        [line] = listed.out.splitlines()
        token_id, label, _, last_used, state = line.split("\t")
        assert (label, state) == ("import", "active") and last_used != "-"

        revoked = await carnet(database_url, "token", "revoke", token_id)
        assert revoked.code == 0, revoked.err
        response = await client.get("/api/auth/me")
        assert response.status_code == 401, response.text
        again, listed = await asyncio.gather(
            carnet(database_url, "token", "revoke", token_id),
            carnet(database_url, "token", "list", "--email", email),
        )
        assert again.code != 0 and "unknown token" in again.err
        assert listed.out.split("\t")[-1].strip() == "revoked"


async def test_user_password(database_url: str, server: RunningServer) -> None:
    email = _email()
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        response = await browser.post(
            "/api/auth/signup",
            json={"email": email, "name": "Chloé", "password": "ancien-mot-de-passe"},
        )
        assert response.status_code == 201, response.text
        assert (await browser.get("/api/auth/me")).status_code == 200

        changed, unknown, short = await asyncio.gather(
            carnet(database_url, "user", "password", "--email", email, "--password",
                   "nouveau-mot-de-passe"),
            carnet(database_url, "user", "password", "--email", _email(), "--password",
                   "nouveau-mot-de-passe"),
            carnet(database_url, "user", "password", "--email", email, "--password", "court"),
        )  # fmt: skip
        assert changed.code == 0, changed.err
        assert "password changed" in changed.out
        assert unknown.code != 0 and "no account" in unknown.err
        assert short.code != 0 and "at least 8 characters" in short.err
        # The old browser session is over; the new password works, the old one not.
        assert (await browser.get("/api/auth/me")).status_code == 401
        response = await browser.post(
            "/api/auth/login", json={"email": email, "password": "ancien-mot-de-passe"}
        )
        assert response.status_code == 401
        response = await browser.post(
            "/api/auth/login", json={"email": email, "password": "nouveau-mot-de-passe"}
        )
        assert response.status_code == 200, response.text


async def test_unreachable_database() -> None:
    run = await carnet("postgresql://postgres@127.0.0.1:1/carnet", "db", "upgrade")
    assert run.code != 0
    assert "database unreachable" in run.err and "Traceback" not in run.err
