"""Cold open of a note with a long history, before and after compaction.

    .venv/bin/python bench/cold_open.py                       # automerge-paper and seph-blog1
    .venv/bin/python bench/cold_open.py --trace automerge-paper --repeat 5

For each editing trace (shared/data/editing-traces): replay it into a pycrdt
Y.Text ``text``, one Yjs update per transaction (260k for automerge-paper),
and append them to a fresh note's log with ``carnet.storage.documents.append_updates``
in big batches (what the server's group commit would have written). Then:

1. **raw log**: start ``carnet serve`` afresh; a new client connects and
   sends its SyncStep1; time from the start of the TCP connect to the
   server's SyncStep2 applied in the client's Doc (the text is checked
   against ``endContent``). The server loads the 260k rows and, the log being
   long, compacts it into a snapshot in the background (rooms.py ``_load``).
2. **snapshot**: once the snapshot is stored, restart the server and open
   again, ``--repeat`` times (a fresh server each time).
3. **warm**: a second client while the room is loaded, for reference.

It also times the parts of a load in this process (the SQL of
``load_document``, ``build_doc``, encoding the state) for raw log and
snapshot. Target: cold open of automerge-paper <= 150 ms.
"""
# ruff: noqa: ASYNC220, ASYNC230 - benchmark scripts, blocking on purpose

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _bench import (
    ROOT,
    TempDatabase,
    YPeer,
    free_port,
    log,
    prioritise_backends,
    quiet_loop,
    set_nice,
    setup_note,
    start_carnet,
    wait_ready,
)

TRACES = Path(os.environ.get("CARNET_TRACES", ROOT.parent / "shared/data/editing-traces"))


def trace_updates(name: str) -> tuple[list[bytes], str]:
    """One Yjs update per transaction of the trace, and the expected final text."""
    import pycrdt

    with gzip.open(TRACES / f"{name}.json.gz", "rt", encoding="utf-8") as f:
        trace = json.load(f)
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get("text", type=pycrdt.Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    if trace.get("startContent"):
        text += trace["startContent"]
    for txn in trace["txns"]:
        with doc.transaction():
            for position, deleted, inserted in txn["patches"]:
                if deleted:
                    del text[position : position + deleted]
                if inserted:
                    text.insert(position, inserted)
    assert str(text) == trace["endContent"], "replay does not reach endContent"
    return updates, trace["endContent"]


async def insert_log(database_url: str, note_id: str, updates: list[bytes], batch: int) -> None:
    import asyncpg

    from carnet.storage.documents import NewUpdate, append_updates

    conn = await asyncpg.connect(database_url)
    try:
        for start in range(0, len(updates), batch):
            rows = [NewUpdate(note_id, data, None) for data in updates[start : start + batch]]
            async with conn.transaction():
                await append_updates(conn, rows)
    finally:
        await conn.close()


async def log_state(database_url: str, note_id: str) -> tuple[int, int | None]:
    """(log rows, snapshot seq)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetchval("SELECT count(*) FROM note_updates WHERE note_id = $1", note_id)
        snap = await conn.fetchval("SELECT seq FROM note_snapshots WHERE note_id = $1", note_id)
        return rows, snap
    finally:
        await conn.close()


async def load_parts(database_url: str, note_id: str) -> dict[str, float]:
    """The parts of a room load, timed here: SQL, build_doc, state encoding (ms)."""
    import asyncpg

    from carnet.storage.documents import load_document
    from carnet.sync.rooms import build_doc

    conn = await asyncpg.connect(database_url)
    try:
        t0 = time.perf_counter()
        stored = await load_document(conn, note_id)
        t1 = time.perf_counter()
        doc = build_doc(stored)
        t2 = time.perf_counter()
        state = doc.get_update()
        t3 = time.perf_counter()
    finally:
        await conn.close()
    return {
        "log_rows": len(stored.updates),
        "snapshot_bytes": len(stored.snapshot or b""),
        "log_bytes": stored.log_bytes,
        "sql_ms": round((t1 - t0) * 1000, 1),
        "build_doc_ms": round((t2 - t1) * 1000, 1),
        "encode_state_ms": round((t3 - t2) * 1000, 1),
        "state_bytes": len(state),
    }


async def open_once(url: str, expected: str) -> tuple[float, int]:
    """Connect a new client; (ms from connect to SyncStep2 applied, update bytes)."""
    import pycrdt

    peer = YPeer("carnet", "", doc=pycrdt.Doc())
    started = time.monotonic()
    # The server loads the room before it accepts the socket: the handshake waits for it.
    await asyncio.wait_for(peer.connect(url), 600)
    async with asyncio.timeout(600):
        await peer.synced.wait()
    elapsed = (peer.synced_at - started) * 1000
    text = str(peer.doc.get("text", type=pycrdt.Text))
    assert text == expected, f"client text differs ({len(text)} vs {len(expected)} chars)"
    size = len(peer.doc.get_update())
    assert peer.ws is not None
    peer.ws.close()
    return round(elapsed, 1), size


async def bench_trace(name: str, args: argparse.Namespace, database_url: str) -> dict[str, Any]:
    log(f"--- {name}: building updates")
    t0 = time.monotonic()
    updates, expected = await asyncio.to_thread(trace_updates, name)
    built = time.monotonic() - t0
    log(f"{len(updates)} updates ({sum(map(len, updates)) / 1e6:.1f} MB) in {built:.1f}s")
    port = free_port()
    server = start_carnet(port, database_url, None)
    try:
        wait_ready(server)
        _, _, (note_id,) = setup_note(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
    t0 = time.monotonic()
    await insert_log(database_url, note_id, updates, args.batch)
    log(f"log inserted in {time.monotonic() - t0:.1f}s")
    result: dict[str, Any] = {
        "scenario": "cold_open",
        "trace": name,
        "nice": args.nice or 0,
        "rt": args.rt,
        "updates": len(updates),
        "update_bytes": sum(map(len, updates)),
        "final_chars": len(expected),
        "parts_raw": await load_parts(database_url, note_id),
    }
    del updates
    url = f"ws://127.0.0.1:{port}/ws/notes/{note_id}"

    # 1. raw log, fresh server.
    server = start_carnet(port, database_url, None)
    try:
        wait_ready(server)
        await prioritise_backends(database_url)
        spy = None
        if args.profile:
            os.makedirs(args.profile, exist_ok=True)
            result["profile"] = os.path.join(args.profile, f"cold-open-raw-{name}.txt")
            spy = subprocess.Popen(
                [
                    args.py_spy,
                    "record",
                    "--pid",
                    str(server.pid),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    result["profile"],
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            await asyncio.sleep(1)
        result["cold_raw_ms"], result["synced_bytes"] = await open_once(url, expected)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        log(f"cold open, raw log: {result['cold_raw_ms']} ms")
        result["warm_ms"] = [(await open_once(url, expected))[0] for _ in range(3)]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            rows, snap = await log_state(database_url, note_id)
            if snap is not None and rows == 0:
                break
            await asyncio.sleep(0.5)
        result["compacted"] = {"log_rows": rows, "snapshot_seq": snap}
    finally:
        server.stop()
    result["parts_snapshot"] = await load_parts(database_url, note_id)

    # 2. snapshot, a fresh server each time.
    cold = []
    for _ in range(args.repeat):
        server = start_carnet(port, database_url, None)
        try:
            wait_ready(server)
            await prioritise_backends(database_url)
            cold.append((await open_once(url, expected))[0])
        finally:
            server.stop()
    result["cold_snapshot_ms"] = cold
    result["cold_snapshot_median_ms"] = statistics.median(cold)
    log(f"cold open, snapshot: {cold} ms")
    return result


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", default="automerge-paper,seph-blog1")
    parser.add_argument("--repeat", type=int, default=5, help="cold opens from the snapshot")
    parser.add_argument("--batch", type=int, default=20_000, help="log rows per insert")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record the raw-log cold open with py-spy (raw stacks) into DIR",
    )
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
    results = []
    async with TempDatabase() as database_url:
        for name in [t.strip() for t in args.trace.split(",") if t.strip()]:
            result = await bench_trace(name, args, database_url)
            results.append(result)
            print(json.dumps(result), flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps(result) + "\n")
    print()
    print(
        "| trace | updates | cold open, raw log | cold open, snapshot (median of n) "
        "| warm open | load parts raw: SQL / build_doc | snapshot: SQL / build_doc |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        pr, ps = r["parts_raw"], r["parts_snapshot"]
        print(
            f"| {r['trace']} | {r['updates']} | {r['cold_raw_ms']} ms "
            f"| {r['cold_snapshot_median_ms']} ms (n={len(r['cold_snapshot_ms'])}) "
            f"| {statistics.median(r['warm_ms'])} ms "
            f"| {pr['sql_ms']} / {pr['build_doc_ms']} ms "
            f"| {ps['sql_ms']} / {ps['build_doc_ms']} ms |"
        )


if __name__ == "__main__":
    loop = quiet_loop()
    asyncio.set_event_loop(loop)
    loop.run_until_complete(main())
