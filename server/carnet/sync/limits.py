"""Limits of live co-writing: they stop floods, not fast honest clients.

A scripted editor importing 2,000 updates a second over one connection stays
well inside them; a client past them is disconnected with a documented code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    max_frame_bytes: int = 8 * 1024 * 1024
    max_document_bytes: int = 64 * 1024 * 1024
    max_connections_per_note: int = 5000
    max_connections_per_user: int = 200
    # Token bucket per connection: sustained rate and burst.
    frames_per_second: float = 5000.0
    frame_burst: float = 20000.0
    bytes_per_second: float = 16 * 1024 * 1024
    byte_burst: float = 64 * 1024 * 1024
    max_presence_per_connection: int = 16
    # Frames waiting to be written to one connection before it counts as stuck.
    send_queue_frames: int = 2000
    # ... or bytes: each SyncStep1 is answered with the document, so a client that
    # keeps asking and never reads would otherwise queue 2,000 copies of it.
    send_queue_bytes: int = 8 * 1024 * 1024
    viewer_interval: float = 0.05
    idle_unload_seconds: float = 30.0
    revision_pause_seconds: float = 60.0
    compact_rows: int = 2000
    compact_bytes: int = 2 * 1024 * 1024


class TokenBucket:
    """Allows ``rate`` per second on average with bursts up to ``burst``."""

    __slots__ = ("burst", "level", "rate", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self.level = burst
        self.stamp = now

    def take(self, amount: float, now: float) -> bool:
        self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.level < amount:
            return False
        self.level -= amount
        return True
