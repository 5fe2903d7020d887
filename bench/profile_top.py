"""Summarise a py-spy ``--format raw`` profile: top functions by self and inclusive samples.

    .venv/bin/python bench/profile_top.py /tmp/prof/fanout-carnet-x1-1000.txt [--top 25]

(fanout.py and cold_open.py write such files with ``--profile DIR``; install py-spy
with ``pip install py-spy``.) Samples are wall-clock samples of a non-idle
thread: on a loaded machine a function that makes the kernel wake another
process (a socket write on loopback) also collects the time the server waits
to be scheduled again.
"""

from __future__ import annotations

import argparse
import collections
import re


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    total = 0
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    with open(args.path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            n = int(count)
            total += n
            names = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            own[names[-1]] += n
            for name in set(names):
                inclusive[name] += n
    print(f"{total} samples")
    print("self:")
    for name, n in own.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")
    print("inclusive:")
    for name, n in inclusive.most_common(args.top):
        print(f"  {n / total:6.1%}  {name}")


if __name__ == "__main__":
    main()
