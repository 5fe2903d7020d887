#!/usr/bin/env bash
# Every benchmark of docs/performance.md, one after the other (about 15 minutes).
# Usage: [RT=1] [NICE=-10] bench/run_all.sh [OUT_DIR]   (JSON lines in OUT_DIR/results.jsonl, logs beside;
#        RT=1: servers, clients and their PostgreSQL backends SCHED_RR; NICE: nice value instead)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/tmp/carnet-bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
PY=.venv/bin/python
[ -d bench/peers/node_modules ] || (cd bench/peers && npm ci --no-audit --no-fund)
run() { local name=$1; shift; echo "== $name: $*"; "$PY" "$@" ${NICE:+--nice "$NICE"} ${RT:+--rt} --json "$OUT/results.jsonl" \
          > "$OUT/$name.out" 2> "$OUT/$name.log"; tail -n 12 "$OUT/$name.out"; }
run fanout      bench/fanout.py --server carnet,hocuspocus,yws --viewers 500,1000 --duration 20
run processes   bench/fanout.py --server carnet --viewers 1000 --processes 1,2,4 --duration 20
run editors     bench/editors.py --server carnet,hocuspocus,yws --duration 20
run acks        bench/acks.py --editors 10 --rate 100 --duration 20
run acks-1x1000 bench/acks.py --editors 1 --rate 1000 --duration 20
run cold_open   bench/cold_open.py --trace automerge-paper,seph-blog1 --repeat 5
echo "results in $OUT"
