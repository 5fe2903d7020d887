"""Fan-out: one writer typing 20 updates/s, N read-only viewers; latency and server CPU.

    .venv/bin/python bench/fanout.py --viewers 500,1000 --server carnet,hocuspocus,yws
    .venv/bin/python bench/fanout.py --viewers 1000 --server carnet --processes 1,2,4

Method (docs/performance.md, DESIGN §6): the writer stamps its sequence number
in the Y.Map ``stamps`` with each keystroke (one Yjs update per keystroke, also
typing a character into Y.Text ``text``); the draining viewers only read frames
(raw sockets, counted, never decoded); a few probe viewers, connected last,
hold a pycrdt Doc and time each stamp's arrival. Latency = probe arrival - the
writer's send time (both CLOCK_MONOTONIC). Server CPU = utime+stime of the
server's process tree from /proc over the measured window, divided by the
updates delivered (updates sent x viewers connected).

Each scenario starts its server(s) afresh; the Carnet servers share one fresh
PostgreSQL database (dropped at the end) and, with several processes, Redis.
Prints one JSON object per scenario, then a markdown table.
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


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server",
        default="carnet,hocuspocus,yws",
        help="comma list of carnet, hocuspocus, yws (default: all three)",
    )
    parser.add_argument("--viewers", default="500,1000", help="comma list of viewer counts")
    parser.add_argument(
        "--processes",
        default="1",
        help="comma list of carnet process counts (several share DB and Redis)",
    )
    parser.add_argument("--rate", type=float, default=20.0, help="writer updates per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of typing")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds idle after connecting")
    parser.add_argument("--probes", type=int, default=8, help="probe viewers (included in N)")
    parser.add_argument("--clients", type=int, default=3, help="viewer client processes")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis for several carnet processes")
    parser.add_argument(
        "--redis-single", action="store_true", help="also give a single carnet process Redis"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record the first carnet process with py-spy (raw stacks) into DIR",
    )
    parser.add_argument(
        "--py-spy",
        default=os.environ.get("PY_SPY", "py-spy"),
        help="py-spy executable (pip install py-spy)",
    )
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
    parser.add_argument(
        "--deflate", action="store_true", help="viewers offer permessage-deflate, as browsers do"
    )
    parser.add_argument("--json", help="append the results to this JSON-lines file")
    return parser.parse_args()


async def scenario(
    kind: str, viewers: int, processes: int, args: argparse.Namespace, database_url: str
) -> dict[str, Any]:
    label = f"{kind} x{processes}" if kind == "carnet" else kind
    log(f"--- {label}: 1 writer at {args.rate}/s, {viewers} viewers")
    servers: list[Server]
    if kind == "carnet":
        redis = args.redis if (processes > 1 or args.redis_single) else None
        servers = start_carnets(processes, database_url, redis)
        token, _, notes = setup_note(f"http://127.0.0.1:{servers[0].port}")
        room = notes[0]
        writer_headers = {"authorization": f"Bearer {token}"}
    else:
        servers = [start_peer(kind, free_port())]
        wait_ready(servers[0])
        room = f"bench-{secrets.token_hex(4)}"
        writer_headers = {}
    pool = Pool(args.clients + 1)  # the last one holds the writer
    writer_index = args.clients
    result: dict[str, Any] = {
        "scenario": "fanout",
        "server": kind,
        "processes": processes,
        "viewers": viewers,
        "rate": args.rate,
        "duration": args.duration,
        "nice": args.nice or 0,
        "rt": args.rt,
        "deflate": args.deflate,
    }
    try:
        n_drain = viewers - args.probes
        per_worker: list[list[str]] = [[] for _ in range(args.clients)]
        for i in range(n_drain):
            per_worker[i % args.clients].append(servers[i % len(servers)].ws_url(room))
        started = time.monotonic()
        replies = await pool.ask_all(
            [("drains", kind, room, urls, {}, args.deflate) for urls in per_worker] + [None]
        )
        connected = sum(r["connected"] for r in replies)
        failed = sum(r["failed"] for r in replies)
        result["deflated_viewers"] = sum(r["deflated"] for r in replies)
        log(
            f"{connected} draining viewers in {time.monotonic() - started:.1f}s, {failed} failed "
            f"{[e for r in replies for e in r['errors']][:3]}"
        )
        probe_urls: list[list[str]] = [[] for _ in range(args.clients)]
        for i in range(args.probes):
            # Spread over the client processes and over the server processes.
            probe_urls[i % args.clients].append(servers[(i + 1) % len(servers)].ws_url(room))
        replies = await pool.ask_all(
            [("probes", kind, room, urls, {}, ("w0",), args.deflate) for urls in probe_urls]
            + [None]
        )
        log(
            f"{sum(r['connected'] for r in replies)} probes, "
            f"{[e for r in replies for e in r['errors']][:3]}"
        )
        reply = await pool.ask(
            writer_index,
            ("writers", kind, room, [servers[0].ws_url(room)], writer_headers, ["w0"], (), True),
        )
        assert reply["connected"] == 1, reply
        await asyncio.sleep(args.warmup)
        if kind == "carnet":
            await prioritise_backends(database_url)
        await pool.ask_all([("mark",)] * args.clients + [None])

        server_pids = [server.pid for server in servers]
        client_pids = pool.pids
        cpu0 = cpu_seconds(server_pids)
        client0 = cpu_seconds(client_pids)
        busy0 = machine_busy()
        t0 = time.monotonic()
        start_at = t0 + 0.2
        spy = None
        if args.profile and kind == "carnet":
            os.makedirs(args.profile, exist_ok=True)
            out = os.path.join(args.profile, f"fanout-carnet-x{processes}-{viewers}.txt")
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(servers[0].pid),
                    "--rate",
                    "250",
                    "--duration",
                    str(int(args.duration)),
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    out,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            result["profile"] = out
        sent = (await pool.ask(writer_index, ("type", start_at, args.duration, args.rate, [0.0])))[
            "sent"
        ]["w0"]
        await asyncio.sleep(1.5)  # let the last updates reach everyone
        t1 = time.monotonic()
        cpu1 = cpu_seconds(server_pids)
        client1 = cpu_seconds(client_pids)
        busy1 = machine_busy()

        if spy is not None:
            spy.wait(30)
        reports = await pool.ask_all([("report",)] * (args.clients + 1))
        arrivals = [a for r in reports[: args.clients] for a in r["arrivals"]]
        latencies = []
        last_per_update: dict[int, float] = {}
        for probe in arrivals:
            for _key, seq, at in probe:
                latency = at - sent[seq - 1]
                latencies.append(latency)
                last_per_update[seq] = max(last_per_update.get(seq, 0.0), latency)
        open_viewers = sum(
            r["drains"] - sum(r["closed"].values()) + r["probes"] for r in reports[: args.clients]
        )
        # closed counts probes too; recount drains alone
        open_drains = sum(
            r["drains"] - sum(v for v in r["closed"].values()) for r in reports[: args.clients]
        )
        open_viewers = open_drains + sum(r["probes"] for r in reports[: args.clients])
        closed: dict[str, int] = {}
        for r in reports:
            for code, n in r["closed"].items():
                closed[code] = closed.get(code, 0) + n
        updates = len(sent)
        delivered = updates * open_viewers
        frames = [f for r in reports[: args.clients] for f in r["drain_frames"]]
        server_cpu = cpu1 - cpu0
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        cores = os.cpu_count() or 1
        other = busy * cores * (t1 - t0) - server_cpu - (client1 - client0)
        timeline: dict[int, float] = {}
        for seq, latency in last_per_update.items():
            second = int((seq - 1) / args.rate)
            timeline[second] = max(timeline.get(second, 0.0), latency)
        result.update(
            {
                "worst_latency_by_second_ms": [round(timeline[k] * 1000) for k in sorted(timeline)],
                "viewers_connected": open_viewers,
                "viewers_failed": failed,
                "closed": closed,
                "updates": updates,
                "window_s": round(t1 - t0, 2),
                "latency_ms": percentiles(latencies),
                "last_probe_latency_ms": percentiles(last_per_update.values()),
                "missing_arrivals": args.probes * updates - len(latencies),
                "server_cpu_s": round(server_cpu, 2),
                "server_cpu_share": round(server_cpu / (t1 - t0), 2),
                "cpu_per_delivered_update_us": round(server_cpu / max(1, delivered) * 1e6, 2),
                "frames_per_viewer": round(sum(frames) / max(1, len(frames)), 1),
                "cpu_per_delivered_frame_us": round(server_cpu / max(1, sum(frames)) * 1e6, 2),
                "client_cpu_s": round(client1 - client0, 2),
                "machine_busy": round(busy, 2),
                "other_cpu_cores": round(other / (t1 - t0), 2),
            }
        )
        for server in servers:
            if not server.alive():
                result["server_died"] = server.tail()
        return result
    finally:
        await pool.close()
        for server in servers:
            server.stop()


async def main() -> None:
    args = parse()
    set_nice(args.nice, args.rt)
    kinds = [k.strip() for k in args.server.split(",") if k.strip()]
    counts = [int(v) for v in args.viewers.split(",")]
    processes = [int(v) for v in args.processes.split(",")]
    log(f"machine: {os.cpu_count()} cores shared by the server(s) and the load generator")
    results = []
    async with TempDatabase() as database_url:
        for viewers in counts:
            for kind in kinds:
                for p in processes if kind == "carnet" else [1]:
                    try:
                        result = await scenario(kind, viewers, p, args, database_url)
                    except Exception as error:
                        log(f"scenario failed: {error!r}")
                        result = {
                            "scenario": "fanout",
                            "server": kind,
                            "processes": p,
                            "viewers": viewers,
                            "error": repr(error),
                        }
                    results.append(result)
                    print(json.dumps(result), flush=True)
                    if args.json:
                        with open(args.json, "a") as f:
                            f.write(json.dumps(result) + "\n")
    print()
    print(
        "| server | proc | viewers | p50 ms | p95 ms | p99 ms | max ms | server CPU "
        "| µs / delivered update | µs / frame | frames/viewer | machine busy | other load "
        "| closed |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        if "error" in r:
            print(f"| {r['server']} | {r['processes']} | {r['viewers']} | error: {r['error']} |")
            continue
        lat = r["latency_ms"]
        print(
            f"| {r['server']} | {r['processes']} | {r['viewers_connected']} | {lat.get('p50')} "
            f"| {lat.get('p95')} | {lat.get('p99')} | {lat.get('max')} "
            f"| {r['server_cpu_share']:.0%} | {r['cpu_per_delivered_update_us']} "
            f"| {r['cpu_per_delivered_frame_us']} | {r['frames_per_viewer']} "
            f"| {r['machine_busy']:.0%} | {r['other_cpu_cores']} cores | {r['closed'] or '-'} |"
        )


if __name__ == "__main__":
    loop = quiet_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main())
