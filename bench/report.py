"""Markdown tables from the JSON lines the bench scripts append with ``--json``.

.venv/bin/python bench/report.py /tmp/carnet-bench-*/results.jsonl
"""

from __future__ import annotations

import json
import sys
from typing import Any


def prio(r: dict[str, Any]) -> str:
    return "SCHED_RR" if r.get("rt") else f"nice {r.get('nice', 0)}"


def lat(r: dict[str, Any], key: str) -> str:
    v = r.get(key, {})
    return f"{v.get('p50')} | {v.get('p95')} | {v.get('p99')} | {v.get('max')}"


def main() -> None:
    rows: list[dict[str, Any]] = []
    for path in sys.argv[1:]:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    fan = [r for r in rows if r["scenario"] == "fanout" and "error" not in r]
    if fan:
        print(
            "| server | proc | viewers | p50 | p95 | p99 | max (ms) | server CPU | "
            "µs/delivered update | µs/frame | frames/viewer | other load (cores) | priority |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in fan:
            print(
                f"| {r['server']} | {r['processes']} | {r['viewers_connected']} | "
                f"{lat(r, 'latency_ms')} | {r['server_cpu_share']:.0%} | "
                f"{r['cpu_per_delivered_update_us']} | {r['cpu_per_delivered_frame_us']} | "
                f"{r['frames_per_viewer']} | {r['other_cpu_cores']} | {prio(r)} |"
            )
        print()
    ed = [r for r in rows if r["scenario"] == "editors"]
    if ed:
        print(
            "| server | writers x rate | viewers | p50 | p95 | p99 | max (ms) | server CPU "
            "| other load (cores) | priority |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in ed:
            print(
                f"| {r['server']} | {r['writers']} x {r['rate']:g}/s | {r['viewers']} | "
                f"{lat(r, 'editor_latency_ms')} | {r['server_cpu_share']:.0%} | "
                f"{r['other_cpu_cores']} | {prio(r)} |"
            )
        print()
    acks = [r for r in rows if r["scenario"] == "acks"]
    if acks:
        print(
            "| editors x rate | achieved/s | p50 | p95 | p99 | max (ms) | not acked | "
            "server CPU | lone commit p50 / p99 (ms) | other load (cores) | priority |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in acks:
            c = r.get("postgres_commit_ms", {})
            print(
                f"| {r['editors']} x {r['rate']:g}/s | {r['achieved_rate']} | "
                f"{lat(r, 'ack_latency_ms')} | {r['missing_acks']} | "
                f"{r['server_cpu_share']:.0%} | {c.get('p50', '-')} / {c.get('p99', '-')} | "
                f"{r['other_cpu_cores']} | {prio(r)} |"
            )
        print()
    cold = [r for r in rows if r["scenario"] == "cold_open"]
    if cold:
        print(
            "| trace | log rows | cold open, raw log (ms) | cold open, snapshot (ms, each) "
            "| warm (ms) | raw load parts: SQL / build_doc (ms) | snapshot parts (ms) | priority |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in cold:
            pr, ps = r["parts_raw"], r["parts_snapshot"]
            print(
                f"| {r['trace']} | {r['updates']} | {r['cold_raw_ms']} | "
                f"{', '.join(map(str, r['cold_snapshot_ms']))} | "
                f"{', '.join(map(str, r['warm_ms']))} | {pr['sql_ms']} / {pr['build_doc_ms']} | "
                f"{ps['sql_ms']} / {ps['build_doc_ms']} | {prio(r)} |"
            )


if __name__ == "__main__":
    main()
