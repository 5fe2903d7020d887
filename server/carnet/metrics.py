"""``/metrics`` in the Prometheus text format, without a client library.

What an operator watches during a gathering: open rooms, connections by
role, updates saved, how long saving takes, what waits to be saved, and how
often a process had to catch up from PostgreSQL.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import TYPE_CHECKING

from litestar import Response, get
from litestar.datastructures import State

if TYPE_CHECKING:
    from carnet.sync.rooms import Rooms


class Histogram:
    """Cumulative buckets, as Prometheus expects them."""

    def __init__(self, buckets: Iterable[float]) -> None:
        self.bounds = sorted(buckets)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str) -> list[str]:
        lines, running = [], 0
        for bound, count in zip(self.bounds, self.counts, strict=False):
            running += count
            lines.append(f'{name}_bucket{{le="{bound}"}} {running}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self.count}')
        lines.append(f"{name}_sum {self.total}")
        lines.append(f"{name}_count {self.count}")
        return lines


def _metric(name: str, kind: str, help_text: str, samples: list[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]


def exposition(rooms: Rooms) -> str:
    editors = sum(room.editors for room in rooms.rooms.values())
    viewers = sum(room.viewers for room in rooms.rooms.values())
    persister = rooms.persister
    fanout_catch_ups = getattr(rooms.fanout, "catch_ups", 0)
    lines = [
        *_metric(
            "carnet_open_rooms",
            "gauge",
            "Notes open in this process.",
            [f"carnet_open_rooms {len(rooms.rooms)}"],
        ),
        *_metric(
            "carnet_connections",
            "gauge",
            "Live note connections by role.",
            [
                f'carnet_connections{{role="editor"}} {editors}',
                f'carnet_connections{{role="viewer"}} {viewers}',
            ],
        ),
        *_metric(
            "carnet_updates_saved_total",
            "counter",
            "Updates committed to the log.",
            [f"carnet_updates_saved_total {persister.saved_total}"],
        ),
        *_metric(
            "carnet_save_seconds",
            "histogram",
            "From accepting an update to its commit.",
            persister.save_latency.lines("carnet_save_seconds"),
        ),
        *_metric(
            "carnet_unsaved_updates",
            "gauge",
            "Updates accepted, not yet committed.",
            [f"carnet_unsaved_updates {persister.backlog}"],
        ),
        *_metric(
            "carnet_saving_delayed",
            "gauge",
            "1 while the database is unreachable.",
            [f"carnet_saving_delayed {int(persister.delayed)}"],
        ),
        *_metric(
            "carnet_room_loads_total",
            "counter",
            "Rooms loaded from PostgreSQL.",
            [f"carnet_room_loads_total {rooms.loads}"],
        ),
        *_metric(
            "carnet_catch_ups_total",
            "counter",
            "Catch-ups from PostgreSQL.",
            [
                f'carnet_catch_ups_total{{cause="room"}} {rooms.catch_ups}',
                f'carnet_catch_ups_total{{cause="redis_reconnect"}} {fanout_catch_ups}',
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


@get("/metrics", tags=["operations"], sync_to_thread=False, include_in_schema=False)
def metrics(state: State) -> Response[str]:
    rooms: Rooms = state.rooms
    return Response(exposition(rooms), media_type="text/plain; version=0.0.4; charset=utf-8")
