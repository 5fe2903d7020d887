"""EXPERIMENT launcher: ``carnet serve`` with the patches named in CARNET_BENCH_PATCHES.

    CARNET_BENCH_SERVE=bench/experiments/patched_serve.py \\
    CARNET_BENCH_PATCHES=fastpath,no_indexer \\
        .venv/bin/python bench/editors.py

Patches: ``fastpath`` (fastpath_serve.py: viewer frames framed once and written
straight to each transport), ``no_indexer`` (no_indexer.py). Nothing in
``server/`` is changed; these only measure proposals of docs/performance.md.
"""

from __future__ import annotations

import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

NAMES = {"fastpath": "fastpath_serve", "no_indexer": "no_indexer"}

for name in filter(None, os.environ.get("CARNET_BENCH_PATCHES", "").split(",")):
    importlib.import_module(NAMES[name.strip()])

if __name__ == "__main__":
    from carnet.cli import main

    sys.argv = ["carnet", *sys.argv[1:]]
    main()
