"""``carnet serve`` in a child process: on the embedded PostgreSQL, and on a configured one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support import free_port

_SCRIPT = Path(sys.executable).with_name("carnet")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "carnet.cli"]


def _environment(home: Path, **extra: str) -> dict[str, str]:
    """Our environment without any Carnet or libpq setting, at home in ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARNET_", "PG"))}
    env.update(HOME=str(home / "home"), XDG_DATA_HOME=str(home / "xdg"), **extra)
    return env


async def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"carnet serve exited:\n{log.read_text()}"
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"/readyz never answered 200:\n{log.read_text()}")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def _stop(process: subprocess.Popen[bytes], log: Path) -> int:
    process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if process.poll() is None:
        process.kill()
        raise AssertionError(f"carnet serve ignored SIGTERM:\n{log.read_text()}")
    return process.returncode


async def test_serve_on_the_embedded_postgres(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=_environment(tmp_path),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        await _wait_ready(base_url, process, log)
        data = tmp_path / "xdg" / "carnet"
        pgdata = data / "postgres" / "pgdata"
        postmaster = int((pgdata / "postmaster.pid").read_text().split()[0])
        assert _alive(postmaster)
        # The generated secret key is kept for the next start (and other workers).
        assert (data / "secret_key").stat().st_mode & 0o077 == 0
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            response = await client.post(
                "/api/auth/signup",
                json={"email": "alice@example.org", "name": "Alice", "password": "motdepasse"},
            )
            assert response.status_code == 201, response.text
    finally:
        code = await _stop(process, log) if process.poll() is None else process.returncode
    assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM), log.read_text()
    # The PostgreSQL it started is stopped with it.
    deadline = time.monotonic() + 10
    while _alive(postmaster) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(postmaster), log.read_text()
    assert not (pgdata / "postmaster.pid").exists()


async def test_serve_on_a_configured_database(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    log = tmp_path / "serve.log"
    env = _environment(tmp_path, CARNET_DATABASE_URL=database_url, CARNET_SECRET_KEY="k" * 32)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*COMMAND, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        await _wait_ready(base_url, process, log)
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.json() == {"status": "ok", "database": True}
            schema = await client.get("/schema/openapi.json")
            assert schema.status_code == 200
            paths = schema.json()["paths"]
            for path in (
                "/api/carnets",
                "/api/carnets/{carnet_id}/notes",
                "/api/carnets/{carnet_id}/members",
                "/api/notes/{note_id}",
                "/api/notes/{note_id}/finalise",
            ):
                assert path in paths, path
        # Nothing was written to the home directory: no embedded server, no key file.
        assert not (tmp_path / "xdg" / "carnet").exists()
    finally:
        if process.poll() is None:
            await _stop(process, log)
