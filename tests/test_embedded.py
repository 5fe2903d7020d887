"""The embedded PostgreSQL of ``carnet serve`` (carnet.embedded).

Each test starts a real server (initdb takes about a second) on a temporary
XDG_DATA_HOME. As root the server runs as the ``carnet-postgres`` system user.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import pytest

from carnet.embedded import EmbeddedPostgres, EmbeddedPostgresError, default_data_dir


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _assert_gone(pids: Iterable[int], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    left = {p for p in pids if _alive(p)}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {p for p in left if _alive(p)}
    assert not left, f"postgres processes still running: {left}"


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "xdg"


def test_default_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "/srv/data")
    assert default_data_dir() == Path("/srv/data/carnet/postgres")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/path")  # ignored, as the XDG spec says
    assert default_data_dir() == tmp_path / ".local/share/carnet/postgres"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_data_dir() == tmp_path / ".local/share/carnet/postgres"


async def test_start_extensions_stop_and_persist(xdg: Path) -> None:
    pg = EmbeddedPostgres()
    assert pg.data_dir == xdg / "carnet" / "postgres"
    with pytest.raises(EmbeddedPostgresError):
        _ = pg.url
    with pg:
        assert pg.url.startswith("postgresql://")
        assert pg.started_server
        postmaster = pg.pid
        assert postmaster is not None and _alive(postmaster)
        conn = await asyncpg.connect(pg.url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
            assert await conn.fetchval("SELECT current_database()") == "carnet"
            await conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            assert await conn.fetchval("SELECT unaccent('Élève à Noël')") == "Eleve a Noel"
            # non-ASCII letters are word characters for pg_trgm (UTF-8 LC_CTYPE): 'été'
            # gives 4 trigrams; under LC_CTYPE=C only 't' would be left (2 trigrams)
            assert len(await conn.fetchval("SELECT show_trgm('été')")) == 4
            await conn.execute("CREATE TABLE note (body text)")
            await conn.execute("INSERT INTO note VALUES ('Réunion du lundi')")
        finally:
            await conn.close()
        processes = {postmaster, *_children(postmaster)}
        assert len(processes) > 1  # checkpointer, walwriter...
    assert pg.pid is None
    _assert_gone(processes)
    assert not (pg.pgdata / "postmaster.pid").exists()
    pg.stop()  # idempotent
    with pytest.raises(EmbeddedPostgresError):
        _ = pg.url

    with EmbeddedPostgres() as again:
        assert again.pid != postmaster
        conn = await asyncpg.connect(again.url)
        try:
            assert await conn.fetchval("SELECT body FROM note") == "Réunion du lundi"
            rows = await conn.fetch("SELECT extname FROM pg_extension")
            extensions = {r["extname"] for r in rows}
            assert {"unaccent", "pg_trgm"} <= extensions
        finally:
            await conn.close()
        postmaster = again.pid
    _assert_gone([postmaster])


async def test_second_instance_reuses_running_server(xdg: Path) -> None:
    first, second = EmbeddedPostgres(), EmbeddedPostgres()
    try:
        first.start()
        second.start()
        assert first.started_server and not second.started_server
        assert second.pid == first.pid and second.url == first.url
        postmaster = first.pid
        assert postmaster is not None
        second.stop()  # the first one still uses the server
        assert _alive(postmaster)
        conn = await asyncpg.connect(first.url)
        try:
            assert await conn.fetchval("SELECT 1") == 1
        finally:
            await conn.close()
        first.stop()  # the last one stops it
        _assert_gone([postmaster])
    finally:
        second.stop()
        first.stop()


_CHILD = textwrap.dedent(
    """
    import signal, time
    from carnet.embedded import EmbeddedPostgres

    with EmbeddedPostgres() as pg:
        # what uvicorn does: catch SIGTERM, shut down, restore the previous handler,
        # then re-raise the signal
        caught = []
        previous = signal.signal(signal.SIGTERM, lambda sig, frame: caught.append(sig))
        print(pg.pid, flush=True)
        while not caught:
            time.sleep(0.02)
        signal.signal(signal.SIGTERM, previous)
        signal.raise_signal(caught[0])
        time.sleep(30)
    """
)


def test_sigterm_stops_server(xdg: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _CHILD],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
        postmaster = int(line)
        assert _alive(postmaster)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    _assert_gone([postmaster])
    assert not (xdg / "carnet" / "postgres" / "pgdata" / "postmaster.pid").exists()
