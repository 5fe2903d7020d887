"""Editors: 20 writers x 5 updates/s and 100 viewers; editor-to-editor latency.

    .venv/bin/python bench/editors.py                       # carnet, 20 x 5/s, 100 viewers
    .venv/bin/python bench/editors.py --server carnet,hocuspocus,yws

Every writer holds a pycrdt Doc, types one character into Y.Text ``text`` and
stamps its own sequence number in the Y.Map ``stamps`` with each update; every
writer applies what it receives and times the arrival of the others' stamps.
Latency = arrival at writer B - send time at writer A (CLOCK_MONOTONIC). The
writers' keystrokes are phased evenly (20 x 5/s = one update every 10 ms). The
viewers only drain frames. Prints JSON per scenario, then a markdown table.
"""
# ruff: noqa: ASYNC220, ASYNC230 - benchmark scripts, blocking on purpose

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _bench import (
    REDIS_URL,
    Server,
    TempDatabase,
    cpu_seconds,
    free_port,
    log,
    machine_busy,
    percentiles,
    prioritise_backends,
    quiet_loop,
    set_nice,
    setup_note,
    start_carnets,
    start_peer,
    wait_ready,
)
from _clients import Pool


def start_servers(
    kind: str, processes: int, database_url: str, redis: str | None
) -> tuple[list[Server], str, dict[str, str]]:
    """Servers, the room (note id or document name) and the editors' headers."""
    if kind == "carnet":
        servers = start_carnets(processes, database_url, redis if processes > 1 else None)
        token, _, notes = setup_note(f"http://127.0.0.1:{servers[0].port}")
        return servers, notes[0], {"authorization": f"Bearer {token}"}
    server = start_peer(kind, free_port())
    wait_ready(server)
    return [server], f"bench-{secrets.token_hex(4)}", {}


async def run_writers(
    kind: str,
    *,
    writers: int,
    rate: float,
    viewers: int,
    duration: float,
    watch: bool,
    writer_clients: int,
    database_url: str,
    processes: int = 1,
    redis: str | None = None,
    warmup: float = 2.0,
    profile: str | None = None,
    py_spy: str = "py-spy",
) -> dict[str, Any]:
    """Run ``writers`` editors at ``rate`` each (+ draining viewers); raw results."""
    servers, room, headers = start_servers(kind, processes, database_url, redis)
    writer_clients = max(1, min(writer_clients, writers))
    viewer_clients = 1 if viewers else 0
    pool = Pool(writer_clients + viewer_clients)
    try:
        if viewers:
            urls = [servers[i % len(servers)].ws_url(room) for i in range(viewers)]
            (reply,) = await pool.ask_all(
                [None] * writer_clients + [("drains", kind, room, urls, {})]
            )
            log(f"{reply['connected']} viewers, {reply['failed']} failed {reply['errors'][:2]}")
        keys = [f"w{i}" for i in range(writers)]
        groups = [keys[i::writer_clients] for i in range(writer_clients)]
        replies = await pool.ask_all(
            [
                (
                    "writers",
                    kind,
                    room,
                    [servers[int(key[1:]) % len(servers)].ws_url(room) for key in group],
                    headers,
                    group,
                    tuple(keys) if watch else (),
                    watch,
                )
                for group in groups
            ]
            + [None] * viewer_clients
        )
        connected = sum(r["connected"] for r in replies)
        log(f"{connected} writers connected {[e for r in replies for e in r['errors']][:2]}")
        if connected != writers:
            raise RuntimeError(f"only {connected} of {writers} writers connected")
        await asyncio.sleep(warmup)
        if kind == "carnet":
            await prioritise_backends(database_url)
        server_pids = [s.pid for s in servers]
        cpu0, client0, busy0 = cpu_seconds(server_pids), cpu_seconds(pool.pids), machine_busy()
        t0 = time.monotonic()
        start_at = t0 + 0.3
        step = 1.0 / (rate * writers)
        spy = None
        if profile and kind == "carnet":
            os.makedirs(profile, exist_ok=True)
            out = os.path.join(profile, f"writers-{writers}x{rate:g}-{viewers}.txt")
            spy = subprocess.Popen(
                [
                    py_spy,
                    "record",
                    "--pid",
                    str(servers[0].pid),
                    "--rate",
                    "250",
                    "--duration",
                    str(int(duration)),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    out,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        typed = await pool.ask_all(
            [
                ("type", start_at, duration, rate, [int(key[1:]) * step for key in group])
                for group in groups
            ]
            + [None] * viewer_clients
        )
        await asyncio.sleep(1.5)
        t1 = time.monotonic()
        if spy is not None:
            spy.wait(30)
        cpu1, client1, busy1 = cpu_seconds(server_pids), cpu_seconds(pool.pids), machine_busy()
        reports = await pool.ask_all([("report",)] * (writer_clients + viewer_clients))
        sent: dict[str, list[float]] = {}
        for reply in typed:
            sent.update(reply["sent"])
        arrivals: dict[str, list[tuple[str, int, float]]] = {}
        saved: dict[str, list[tuple[int, int, float]]] = {}
        closed: dict[str, int] = {}
        for reply in reports:
            arrivals.update(reply.get("writer_arrivals", {}))
            saved.update(reply.get("saved", {}))
            for code, n in reply["closed"].items():
                closed[code] = closed.get(code, 0) + n
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        window = t1 - t0
        server_cpu = cpu1 - cpu0
        cores = os.cpu_count() or 1
        return {
            "sent": sent,
            "arrivals": arrivals,
            "saved": saved,
            "closed": closed,
            "window_s": round(window, 2),
            "server_cpu_s": round(server_cpu, 2),
            "server_cpu_share": round(server_cpu / window, 2),
            "client_cpu_s": round(client1 - client0, 2),
            "machine_busy": round(busy, 2),
            "other_cpu_cores": round(
                (busy * cores * window - server_cpu - (client1 - client0)) / window, 2
            ),
            "denied": sum(r.get("denied", 0) for r in reports),
        }
    finally:
        await pool.close()
        for server in servers:
            server.stop()


def editor_latencies(raw: dict[str, Any]) -> tuple[list[float], int]:
    sent = raw["sent"]
    latencies = []
    expected = 0
    for receiver, arrivals in raw["arrivals"].items():
        for key, times in sent.items():
            if key != receiver:
                expected += len(times)
        for key, seq, at in arrivals:
            latencies.append(at - sent[key][seq - 1])
    return latencies, expected - len(latencies)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="carnet", help="comma list: carnet,hocuspocus,yws")
    parser.add_argument("--writers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=5.0, help="updates/s per writer")
    parser.add_argument("--viewers", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes for writers")
    parser.add_argument("--processes", type=int, default=1, help="carnet processes")
    parser.add_argument("--redis", default=REDIS_URL)
    parser.add_argument("--profile", metavar="DIR", help="py-spy raw stacks of carnet into DIR")
    parser.add_argument("--py-spy", default=os.environ.get("PY_SPY", "py-spy"))
    parser.add_argument(
        "--nice",
        type=int,
        default=None,
        help="priority of servers and clients (e.g. -10 on a shared machine)",
    )
    parser.add_argument(
        "--rt",
        action="store_true",
        help="servers, clients and their PostgreSQL backends run SCHED_RR",
    )
    parser.add_argument("--json", help="append results to this JSON-lines file")
    return parser.parse_args()


async def main() -> None:
    args = parse()
    set_nice(args.nice, args.rt)
    log(f"machine: {os.cpu_count()} cores shared by the server(s) and the load generator")
    results = []
    async with TempDatabase() as database_url:
        for kind in [k.strip() for k in args.server.split(",") if k.strip()]:
            log(f"--- {kind}: {args.writers} writers x {args.rate}/s, {args.viewers} viewers")
            raw = await run_writers(
                kind,
                writers=args.writers,
                rate=args.rate,
                viewers=args.viewers,
                duration=args.duration,
                watch=True,
                writer_clients=args.clients,
                database_url=database_url,
                processes=args.processes,
                redis=args.redis,
                profile=args.profile,
                py_spy=args.py_spy,
            )
            latencies, missing = editor_latencies(raw)
            result = {
                "scenario": "editors",
                "server": kind,
                "processes": args.processes,
                "writers": args.writers,
                "rate": args.rate,
                "viewers": args.viewers,
                "duration": args.duration,
                "nice": args.nice or 0,
                "rt": args.rt,
                "updates": sum(len(t) for t in raw["sent"].values()),
                "editor_latency_ms": percentiles(latencies),
                "missing_arrivals": missing,
                **{k: v for k, v in raw.items() if k not in ("sent", "arrivals", "saved")},
            }
            results.append(result)
            print(json.dumps(result), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(result) + "\n")
    print()
    print(
        "| server | writers x rate | viewers | p50 ms | p95 ms | p99 ms | max ms "
        "| server CPU | machine busy | other load | closed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        lat = r["editor_latency_ms"]
        print(
            f"| {r['server']} | {r['writers']} x {r['rate']:g}/s | {r['viewers']} "
            f"| {lat.get('p50')} "
            f"| {lat.get('p95')} | {lat.get('p99')} | {lat.get('max')} "
            f"| {r['server_cpu_share']:.0%} | {r['machine_busy']:.0%} "
            f"| {r['other_cpu_cores']} cores | {r['closed'] or '-'} |"
        )


if __name__ == "__main__":
    loop = quiet_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main())
