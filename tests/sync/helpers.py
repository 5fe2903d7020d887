"""Helpers for the live-socket tests: notes, seeds, database reads, server processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pycrdt

from carnet.storage.documents import StoredDocument, load_document
from carnet.sync.rooms import build_doc
from tests.support import Person, free_port

ROOT = Path(__file__).resolve().parents[2]
CARNET_BIN = Path(sys.executable).with_name("carnet")


def seed_from_env(offset: int = 0) -> int:
    """``CARNET_SEED`` when set (to replay a failure), else a fresh one; printed either way.

    Parametrised runs pass their index as ``offset`` and use the seed plus it,
    so one ``CARNET_SEED`` replays all of them.
    """
    raw = os.environ.get("CARNET_SEED", "").strip()
    seed = int(raw) if raw else random.randrange(2**32)
    print(f"seed={seed}" + (f" (this run uses {seed + offset})" if offset else ""))
    return seed + offset


def bearer(person: Person) -> dict[str, str]:
    return {"authorization": f"Bearer {person.token}"}


async def new_note(
    person: Person,
    *,
    carnet: str = "private",
    note: str | None = None,
) -> tuple[str, str]:
    """A carnet (``carnet`` visibility) holding one note; returns their ids."""
    response = await person.client.post(
        "/api/carnets", json={"title": "Rencontre", "visibility": carnet}
    )
    assert response.status_code == 201, response.text
    carnet_id = response.json()["id"]
    body: dict[str, str] = {"title": "Note"}
    if note is not None:
        body["visibility"] = note
    response = await person.client.post(f"/api/carnets/{carnet_id}/notes", json=body)
    assert response.status_code == 201, response.text
    return carnet_id, response.json()["id"]


async def stored_document(db: asyncpg.Pool, note_id: str) -> StoredDocument:
    async with db.acquire() as conn:
        return await load_document(conn, note_id)


async def doc_from_database(db: asyncpg.Pool, note_id: str) -> pycrdt.Doc[Any]:
    """The note's document rebuilt from note_snapshots + note_updates alone."""
    return build_doc(await stored_document(db, note_id))


@dataclass
class ServerProcess:
    """``carnet serve`` as a child process, to be killed and started again on one port."""

    database_url: str
    log_path: Path
    secret_key: str = "carnet-tests-fixed-secret-key-0123456789"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, timeout: float = 30.0) -> None:
        assert self.process is None or self.process.poll() is not None
        env = {
            **os.environ,
            "CARNET_DATABASE_URL": self.database_url,
            "CARNET_SECRET_KEY": self.secret_key,
            "CARNET_BASE_URL": self.base_url,
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CARNET_BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            async with asyncio.timeout(timeout):
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"carnet serve exited:\n{self.log()}")
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get("/healthz")).status_code == 200:
                            return
                    await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — what a crash looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self._reap()

    async def stop(self) -> None:
        """SIGTERM and wait (graceful shutdown flushes every room)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                while self.process.poll() is None:
                    await asyncio.sleep(0.05)
        self._reap()

    def _reap(self) -> None:
        if self.process is not None:
            self.process.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]
