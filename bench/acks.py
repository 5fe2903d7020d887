"""Saved acknowledgements: latency of Carnet's ``Saved(count, seq)`` at 1000 updates/s.

    .venv/bin/python bench/acks.py                           # 10 editors x 100/s
    .venv/bin/python bench/acks.py --editors 1 --rate 1000   # one scripted importer

Each editor types one character per update into its own pycrdt Doc and sends
it; the server appends every update to the note's log (group commit) and only
then sends ``Saved`` (extension message 100, subtype 0) with the cumulative
count of that connection's saved updates. Latency of update k = arrival of the
first Saved with count >= k - send time of update k. The editors do not apply
what the others write (pure writers: the load generator stays cheap). Carnet
only: the peers have no equivalent (Hocuspocus's SyncStatus is sent before
anything is stored).
"""
# ruff: noqa: ASYNC230 - benchmark scripts, blocking on purpose

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _bench import TempDatabase, log, percentiles, quiet_loop, set_nice
from editors import run_writers


def ack_latencies(raw: dict[str, Any]) -> tuple[list[float], int]:
    latencies: list[float] = []
    missing = 0
    for key, sent in raw["sent"].items():
        acks = raw["saved"].get(key, [])
        counts = [count for count, _, _ in acks]
        for k, at in enumerate(sent, start=1):
            i = bisect.bisect_left(counts, k)
            if i == len(acks):
                missing += 1
            else:
                latencies.append(acks[i][2] - at)
    return latencies, missing


async def commit_probe(database_url: str, stop: asyncio.Event, every: float = 0.05) -> list[float]:
    """Latency of a one-row INSERT + COMMIT in the bench database, every ``every`` s.

    The acknowledgements wait for commits: this shows what PostgreSQL itself
    (fsync, and whatever else the machine's PostgreSQL is doing) costs meanwhile.
    """
    import asyncpg

    conn = await asyncpg.connect(database_url)
    times: list[float] = []
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (at timestamptz)")
        while not stop.is_set():
            t0 = time.monotonic()
            await conn.execute("INSERT INTO bench_commit_probe VALUES (now())")
            times.append(time.monotonic() - t0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        await conn.close()
    return times


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--editors", type=int, default=10)
    parser.add_argument("--rate", type=float, default=100.0, help="updates/s per editor")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=1, help="client processes")
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
    log(f"machine: {os.cpu_count()} cores shared by the server and the load generator")
    async with TempDatabase() as database_url:
        stop = asyncio.Event()
        probe = asyncio.create_task(commit_probe(database_url, stop))
        try:
            raw = await run_writers(
                "carnet",
                writers=args.editors,
                rate=args.rate,
                viewers=0,
                duration=args.duration,
                watch=False,
                writer_clients=args.clients,
                database_url=database_url,
                profile=args.profile,
                py_spy=args.py_spy,
            )
        finally:
            stop.set()
            commits = await probe
    latencies, missing = ack_latencies(raw)
    updates = sum(len(t) for t in raw["sent"].values())
    first = min(t[0] for t in raw["sent"].values())
    last = max(t[-1] for t in raw["sent"].values())
    result = {
        "scenario": "acks",
        "server": "carnet",
        "editors": args.editors,
        "rate": args.rate,
        "duration": args.duration,
        "nice": args.nice or 0,
        "rt": args.rt,
        "updates": updates,
        "achieved_rate": round(updates / max(1e-9, last - first), 1),
        "ack_latency_ms": percentiles(latencies),
        "missing_acks": missing,
        "postgres_commit_ms": percentiles(commits),
        **{k: v for k, v in raw.items() if k not in ("sent", "arrivals", "saved")},
    }
    print(json.dumps(result), flush=True)
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps(result) + "\n")
    lat = result["ack_latency_ms"]
    commits_ms = result["postgres_commit_ms"]
    print()
    print(
        "| editors x rate | achieved | p50 ms | p95 ms | p99 ms | max ms | missing | server CPU "
        "| machine busy | other load | lone commit p50 / p99 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.editors} x {args.rate:g}/s | {result['achieved_rate']}/s | {lat.get('p50')} "
        f"| {lat.get('p95')} | {lat.get('p99')} | {lat.get('max')} | {missing} "
        f"| {result['server_cpu_share']:.0%} | {result['machine_busy']:.0%} "
        f"| {result['other_cpu_cores']} cores "
        f"| {commits_ms.get('p50')} / {commits_ms.get('p99')} ms |"
    )


if __name__ == "__main__":
    loop = quiet_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main())
