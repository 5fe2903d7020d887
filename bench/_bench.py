"""Shared machinery of the benchmark scripts in ``bench/`` (not a test module).

- a fresh PostgreSQL database per run, dropped at the end;
- servers started as subprocesses on loopback: ``carnet serve`` (one or several
  processes sharing the database and Redis), ``@y/websocket-server`` and
  ``@hocuspocus/server`` from ``bench/peers`` (``npm ci`` there first);
- server CPU from ``/proc`` (utime+stime of each server's process tree);
- a very cheap WebSocket client (raw asyncio protocol, no frame objects, zero
  mask key) that speaks the y-websocket protocol and Hocuspocus's variant of it
  (every frame prefixed by the document name, an auth message first);
- percentiles.

Every clock is ``time.monotonic()`` (CLOCK_MONOTONIC, shared by all processes of
the machine), so a send time taken in one client process and an arrival time
taken in another can be subtracted.
"""
# ruff: noqa: ASYNC109 - benchmark scripts, blocking on purpose

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PEERS = BENCH / "peers"
VENV_BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get(
    "CARNET_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("CARNET_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
CLK_TCK = os.sysconf("SC_CLK_TCK")


NICE = int(os.environ.get("CARNET_BENCH_NICE", "0"))
"""Priority given to the servers under test and the load generator (root may go below 0).

The machine is shared: when other work runs, a negative value keeps it from
deciding the latencies measured here (docs/performance.md says which runs used it).
"""


RT = os.environ.get("CARNET_BENCH_RT", "") not in ("", "0")
"""Run the servers under test, the load generator and their PostgreSQL backends
SCHED_RR (real-time, priority 10): on a machine shared with other work, they are
then not made to wait behind it. The kernel still keeps 5% of the CPU for
everything else (sched_rt_runtime_us), and the runs are short."""


def _threads(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return [pid]


def prioritise(pid: int) -> None:
    if not (NICE or RT):
        return
    for member in process_tree([pid]):
        for task in _threads(member):
            with contextlib.suppress(OSError):
                if RT:
                    os.sched_setscheduler(task, os.SCHED_RR, os.sched_param(10))
                elif NICE:
                    os.setpriority(os.PRIO_PROCESS, task, NICE)


def set_nice(value: int | None, rt: bool = False) -> None:
    """Priority (nice ``value``, or real-time with ``rt``) of what is started from now on."""
    global NICE, RT
    if value is not None:
        NICE = value
        os.environ["CARNET_BENCH_NICE"] = str(value)
    if rt:
        RT = True
        os.environ["CARNET_BENCH_RT"] = "1"
    prioritise(os.getpid())


def log(*parts: object) -> None:
    print(f"[{time.strftime('%H:%M:%S')}]", *parts, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- numbers


def percentiles(values: Iterable[float], scale: float = 1000.0) -> dict[str, float | int]:
    """p50/p95/p99/max (nearest rank) of ``values`` times ``scale`` (s → ms by default)."""
    data = sorted(values)
    n = len(data)
    if not n:
        return {"n": 0}

    def rank(q: float) -> float:
        return data[min(n - 1, max(0, int(q * n + 0.5) - 1))] * scale

    return {
        "n": n,
        "p50": round(rank(0.50), 2),
        "p95": round(rank(0.95), 2),
        "p99": round(rank(0.99), 2),
        "max": round(data[-1] * scale, 2),
        "mean": round(sum(data) / n * scale, 2),
    }


# --------------------------------------------------------------------------- /proc


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pids: Iterable[int]) -> list[int]:
    kids = _children()
    out: list[int] = []
    todo = list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def cpu_seconds(pids: Iterable[int]) -> float:
    """utime+stime of these processes and all their live descendants, in seconds."""
    total = 0
    for pid in process_tree(pids):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK_TCK


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total


# --------------------------------------------------------------------------- database


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class TempDatabase:
    """``async with TempDatabase() as url``: a fresh database, dropped at the end."""

    def __init__(self, prefix: str = "carnet_bench") -> None:
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        base, _, _ = ADMIN_URL.rpartition("/")
        self.url = f"{base}/{self.name}"

    async def __aenter__(self) -> str:
        import asyncpg

        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        log(f"database {self.name} created")
        return self.url

    async def __aexit__(self, *exc: object) -> None:
        import asyncpg

        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()
        log(f"database {self.name} dropped")


async def prioritise_backends(database_url: str) -> int:
    """Give the PostgreSQL backends serving ``database_url`` the bench priority (if any)."""
    if not (NICE or RT):
        return 0
    import asyncpg

    name = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", name)
    finally:
        await conn.close()
    for row in rows:
        prioritise(row["pid"])
    return len(rows)


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One server process (and its children) on 127.0.0.1:port."""

    kind: str  # carnet | yws | hocuspocus
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    note_path: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ws_url(self, room: str) -> str:
        if self.kind == "carnet":
            return f"ws://127.0.0.1:{self.port}/ws/notes/{room}"
        if self.kind == "yws":
            return f"ws://127.0.0.1:{self.port}/{room}"
        return f"ws://127.0.0.1:{self.port}/"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _log_file(kind: str, port: int) -> Path:
    path = Path("/tmp") / f"carnet-bench-{kind}-{port}-{os.getpid()}.log"
    return path


def carnet_env(database_url: str, redis_url: str | None, base_url: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CARNET_") or k.startswith("CARNET_BENCH_")
    }
    env.update(
        CARNET_DATABASE_URL=database_url,
        CARNET_SECRET_KEY="bench-" + "x" * 40,
        CARNET_BASE_URL=base_url,
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["CARNET_REDIS_URL"] = redis_url
    return env


def start_carnet(port: int, database_url: str, redis_url: str | None) -> Server:
    path = _log_file("carnet", port)
    out = path.open("wb")
    # CARNET_BENCH_SERVE: a script run instead of `carnet` (bench/experiments/).
    serve = os.environ.get("CARNET_BENCH_SERVE")
    command = [sys.executable, str(ROOT / serve)] if serve else [str(VENV_BIN / "carnet")]
    proc = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=carnet_env(database_url, redis_url, f"http://127.0.0.1:{port}"),
        stdout=out,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    prioritise(proc.pid)
    return Server("carnet", port, proc, path)


def start_peer(kind: str, port: int) -> Server:
    if not (PEERS / "node_modules").exists():
        raise SystemExit(f"peers not installed: run `npm ci` in {PEERS}")
    path = _log_file(kind, port)
    out = path.open("wb")
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port))
    if kind == "yws":
        args = ["node", "node_modules/@y/websocket-server/src/server.js"]
    elif kind == "hocuspocus":
        args = ["node", "hocuspocus.mjs", str(port)]
    else:
        raise ValueError(kind)
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PEERS)
    prioritise(proc.pid)
    return Server(kind, port, proc, path)


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.kind} on {server.port} exited:\n{server.tail()}")
        if server.kind == "carnet":
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{server.port}/readyz", timeout=2
                ) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
        else:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", server.port), timeout=1),
            ):
                return
        time.sleep(0.1)
    raise RuntimeError(f"{server.kind} on {server.port} not ready:\n{server.tail()}")


def start_carnets(n: int, database_url: str, redis_url: str | None) -> list[Server]:
    """``n`` carnet processes; the first migrates the database, the others follow."""
    servers = [start_carnet(free_port(), database_url, redis_url)]
    wait_ready(servers[0])
    for _ in range(n - 1):
        servers.append(start_carnet(free_port(), database_url, redis_url))
    for server in servers[1:]:
        wait_ready(server)
    return servers


# --------------------------------------------------------------------------- REST set-up


def setup_note(base_url: str, *, public: bool = True, notes: int = 1) -> tuple[str, str, list[str]]:
    """Sign someone up, make an API token, a carnet and ``notes`` notes.

    Returns (token, carnet id, note ids). With ``public`` the carnet and the notes
    are public, so anonymous viewers open the note's socket read-only, no token.
    """
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def call(path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        req = urllib.request.Request(
            base_url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"content-type": "application/json", **(headers or {})},
        )
        try:
            with opener.open(req, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"POST {path}: {error.code} {error.read()[:300]!r}") from None

    email = f"bench-{secrets.token_hex(4)}@example.org"
    password = "motdepasse-" + secrets.token_hex(6)
    signed = call("/api/auth/signup", {"email": email, "name": "Banc", "password": password})
    token = call("/api/auth/tokens", {"label": "bench"}, {"x-csrf-token": signed["csrf_token"]})[
        "token"
    ]
    auth = {"authorization": f"Bearer {token}"}
    jar.clear()
    visibility = "public" if public else "private"
    carnet = call("/api/carnets", {"title": "Banc", "visibility": visibility}, auth)
    ids = [
        call(
            f"/api/carnets/{carnet['id']}/notes",
            {"title": f"Note de banc {i}", "visibility": visibility},
            auth,
        )["id"]
        for i in range(notes)
    ]
    return token, carnet["id"], ids


# --------------------------------------------------------------------------- wire


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def read_var_uint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


def ws_frame(payload: bytes, opcode: int = 2) -> bytes:
    """A masked client frame with the all-zero mask key (the payload is sent as is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + payload


class RawWS(asyncio.Protocol):
    """A minimal WebSocket client: handshake, unfragmented frames, ping → pong.

    ``on_message(payload)`` is called for each data frame when given; without it
    frames are only counted (that is all a draining viewer does).
    """

    def __init__(
        self,
        path: str,
        host: str,
        headers: dict[str, str] | None = None,
        on_message: Callable[[bytes], None] | None = None,
        on_open: Callable[[RawWS], None] | None = None,
        deflate: bool = False,
    ) -> None:
        self.on_open = on_open
        self.deflate = deflate
        self.inflater: Any = None
        self.deflated = False
        self.path = path
        self.host = host
        self.headers = headers or {}
        self.on_message = on_message
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.open = False
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self.frames = 0
        self.bytes = 0
        self.close_code: int | None = None
        self.first_frame_at: float | None = None
        self.last_frame_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        extra = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
        if self.deflate:
            # What browsers offer; the server may then compress every frame it sends.
            extra += "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
        transport.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            head = bytes(buf[:end]).lower()
            del buf[: end + 4]
            if b" 101 " not in status:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                assert self.transport is not None
                self.transport.close()
                return
            self.open = True
            self.deflated = b"permessage-deflate" in head
            if self.deflated:
                import zlib

                self.inflater = zlib.decompressobj(-15)
            if self.on_open is not None:
                self.on_open(self)
            if not self.opened.done():
                self.opened.set_result(None)
        pos = 0
        size = len(buf)
        on_message = self.on_message
        while size - pos >= 2:
            b0 = buf[pos]
            n = buf[pos + 1] & 0x7F
            off = pos + 2
            if n == 126:
                if size - pos < 4:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                off = pos + 4
            elif n == 127:
                if size - pos < 10:
                    break
                n = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                off = pos + 10
            end = off + n
            if end > size:
                break
            opcode = b0 & 0x0F
            if opcode <= 2:
                self.frames += 1
                self.bytes += n
                if on_message is not None:
                    if b0 & 0x40 and self.inflater is not None:  # RSV1: compressed message
                        on_message(
                            self.inflater.decompress(bytes(buf[off:end]) + b"\x00\x00\xff\xff")
                        )
                    else:
                        on_message(bytes(buf[off:end]))
            elif opcode == 9:
                self.send(bytes(buf[off:end]), opcode=10)
            elif opcode == 8:
                self.close_code = int.from_bytes(buf[off : off + 2], "big") if n >= 2 else 1005
                assert self.transport is not None
                self.transport.close()
            pos = end
        if pos:
            del buf[:pos]
        if self.frames:
            self.last_frame_at = time.monotonic()

    def send(self, payload: bytes, opcode: int = 2) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ws_frame(payload, opcode))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(ws_frame(b"\x03\xe8", opcode=8))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during handshake"))
        if not self.closed.done():
            self.closed.set_result(self.close_code)


async def ws_connect(
    url: str,
    headers: dict[str, str] | None = None,
    on_message: Callable[[bytes], None] | None = None,
    timeout: float = 30.0,
    on_open: Callable[[RawWS], None] | None = None,
    deflate: bool = False,
) -> RawWS:
    assert url.startswith("ws://")
    hostport, _, path = url[5:].partition("/")
    host, _, port = hostport.partition(":")
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(
        lambda: RawWS("/" + path, hostport, headers, on_message, on_open, deflate),
        host,
        int(port),
    )
    async with asyncio.timeout(timeout):
        await proto.opened
    return proto


# --------------------------------------------------------------------------- y-websocket peers


STAMPS = "stamps"


@dataclass
class YPeer:
    """A y-websocket (or Hocuspocus) connection holding an optional pycrdt Doc.

    - ``kind``: carnet | yws | hocuspocus (Hocuspocus frames start with the
      document name and the connection starts with an auth message);
    - ``doc``: None for a draining viewer (frames are only counted);
    - ``watch``: writer keys whose stamps (in the Y.Map ``stamps``) are timed on
      arrival: ``arrivals`` gets ``(writer, seq, monotonic time)``.
    """

    kind: str
    room: str
    doc: Any = None
    watch: tuple[str, ...] = ()
    ws: RawWS | None = None
    arrivals: list[tuple[str, int, float]] = field(default_factory=list)
    last_seen: dict[str, int] = field(default_factory=dict)
    synced: asyncio.Event = field(default_factory=asyncio.Event)
    synced_at: float = 0.0
    saved: list[tuple[int, int, float]] = field(default_factory=list)
    """(count, seq, time) of Carnet's Saved acknowledgements."""
    denied: int = 0
    apply_remote: bool = True
    """False: incoming updates (after the first sync) are not applied (a pure writer)."""
    _prefix: bytes = b""
    _stamps: Any = None
    _watched: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.kind == "hocuspocus":
            self._prefix = var_bytes(self.room.encode())
        if self.doc is not None:
            import pycrdt

            self._stamps = self.doc.get(STAMPS, type=pycrdt.Map)
            if self.watch:
                self._watched = frozenset(self.watch)
                self._stamps.observe(self._on_stamps)

    async def connect(
        self, url: str, headers: dict[str, str] | None = None, deflate: bool = False
    ) -> None:
        handler = self._on_message if self.doc is not None else None

        def opened(ws: RawWS) -> None:
            self.ws = ws
            if self.kind == "hocuspocus":
                # Auth (token, empty) first; then our SyncStep1 to get the document.
                self.send(b"\x02\x00" + var_bytes(b""))
            if self.doc is not None:
                self.send(b"\x00\x00" + var_bytes(self.doc.get_state()))

        self.ws = await ws_connect(url, headers, handler, on_open=opened, deflate=deflate)

    def send(self, message: bytes) -> None:
        assert self.ws is not None
        self.ws.send(self._prefix + message)

    def send_update(self, update: bytes) -> None:
        self.send(b"\x00\x02" + var_bytes(update))

    def _on_message(self, payload: bytes) -> None:
        pos = 0
        if self._prefix:
            n, pos = read_var_uint(payload, 0)
            pos += n
        kind = payload[pos]
        if kind in (0, 4):  # sync, Hocuspocus's SyncReply
            sub = payload[pos + 1]
            if self.doc is None:
                return
            if sub == 0:
                n, p = read_var_uint(payload, pos + 2)
                sv = payload[p : p + n]
                self.send(b"\x00\x01" + var_bytes(self.doc.get_update(sv)))
                return
            if sub == 2 and not self.apply_remote:
                return
            n, p = read_var_uint(payload, pos + 2)
            self.doc.apply_update(payload[p : p + n])
            now = time.monotonic()
            if sub == 1 and not self.synced.is_set():
                self.synced_at = now
                self.synced.set()
        elif kind == 100 and payload[pos + 1] == 0:  # Carnet Saved(count, seq)
            count, p = read_var_uint(payload, pos + 2)
            seq, _ = read_var_uint(payload, p)
            self.saved.append((count, seq, time.monotonic()))
        elif kind == 2 and payload[pos + 1] == 0:  # permission denied
            self.denied += 1

    def _on_stamps(self, event: Any) -> None:
        """Map observer: only the keys this update changed (cheaper than reading them all)."""
        now = time.monotonic()
        last_seen = self.last_seen
        for key, change in event.keys.items():
            if key not in self._watched:
                continue
            value = change.get("newValue")
            if value is None:
                continue
            value = int(value)
            last = last_seen.get(key, 0)
            if value > last:
                # A merged frame carries every stamp since the last one.
                for seq in range(last + 1, value + 1):
                    self.arrivals.append((key, seq, now))
                last_seen[key] = value


def quiet_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()
