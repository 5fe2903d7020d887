"""EXPERIMENT (not production code): ``carnet serve`` with a viewer fan-out fast path.

    CARNET_BENCH_SERVE="bench/experiments/fastpath_serve.py" \\
        .venv/bin/python bench/fanout.py --server carnet --viewers 1000

Measures proposal 1 of docs/performance.md without touching ``server/``: it
monkeypatches ``Room.flush_viewers`` so that the merged viewer frame is
framed as a WebSocket binary message once per tick and written with one
``transport.write`` per viewer, instead of one ``peer.send`` → queue → writer
task → Litestar and middleware send wrappers → uvicorn → websockets framing
per viewer. It falls back to the normal path for a viewer whose queue holds
frames (order is kept), whose transport is paused or that negotiated
permessage-deflate; a viewer whose transport buffer passes 1 MiB is cut off
(4408) as the bounded queue would have done.

Reaching the transport needs uvicorn's own ``send`` (a bound method of its
protocol object), stashed in the scope by an outermost ASGI wrapper; that is
uvicorn-specific, which is why the real patch should keep the fallback.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import carnet.asgi
from carnet.sync import protocol as wire
from carnet.sync.endpoint import SocketPeer
from carnet.sync.room import CLOSE_TOO_SLOW, Close, Room

RAW_SEND = "carnet.raw_send"
STATS = {"fast": 0, "fallback": 0, "no_transport": 0}
MAX_BUFFER = 1 << 20


def ws_binary_frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x82, n)) + payload
    if n < 65536:
        return bytes((0x82, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x82, 127)) + n.to_bytes(8, "big") + payload


_protos: dict[Any, Any] = {}  # SocketPeer has __slots__; an experiment may keep them


def _transport(peer: Any) -> Any:
    """The uvicorn protocol behind a SocketPeer, when the fast path may use it."""
    proto = _protos.get(peer, False)
    if proto is False:
        proto = None
        if isinstance(peer, SocketPeer):
            raw = peer.socket.scope.get(RAW_SEND)
            candidate = getattr(raw, "__self__", None)
            conn = getattr(candidate, "conn", None)
            if (
                candidate is not None
                and getattr(candidate, "transport", None) is not None
                and conn is not None
                and not getattr(conn, "extensions", None)
            ):
                proto = candidate
        _protos[peer] = proto
    return proto


def flush_viewers(self: Room) -> None:
    import pycrdt

    self._viewer_flush = None
    frames = []
    if self._viewer_updates:
        updates, self._viewer_updates = self._viewer_updates, []
        merged = updates[0] if len(updates) == 1 else pycrdt.merge_updates(*updates)
        frames.append(wire.encode_sync_update(merged))
    if self._viewer_presence:
        entries, self._viewer_presence = list(self._viewer_presence.values()), {}
        frames.append(wire.encode_awareness_message(wire.encode_awareness(entries)))
    if not frames:
        return
    raw = b"".join(ws_binary_frame(frame) for frame in frames)  # framed once for everyone
    for peer in self.peers:
        if peer.editor:
            continue
        proto = _transport(peer)
        if proto is None:
            STATS["no_transport"] += 1
        if (
            proto is None
            or peer._queue  # type: ignore[attr-defined]
            or peer.closing is not None  # type: ignore[attr-defined]
            or not proto.writable.is_set()
            or proto.transport.is_closing()
        ):
            STATS["fallback"] += 1
            for frame in frames:
                peer.send(frame)
            continue
        STATS["fast"] += 1
        transport = proto.transport
        if transport.get_write_buffer_size() > MAX_BUFFER:
            peer.close(Close(CLOSE_TOO_SLOW, "too slow, reconnect to resync"))
            continue
        transport.write(raw)


Room.flush_viewers = flush_viewers  # type: ignore[method-assign]

_factory = carnet.asgi.create_app_from_environment


def create_app_from_environment() -> Any:
    app = _factory()

    async def outer(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[RAW_SEND] = send
        await app(scope, receive, send)

    return outer


carnet.asgi.create_app_from_environment = create_app_from_environment  # type: ignore[assignment]

if os.environ.get("CARNET_BENCH_FASTPATH_STATS"):
    import atexit

    atexit.register(lambda: print("fastpath", STATS, file=sys.stderr, flush=True))

if __name__ == "__main__":
    from carnet.cli import main

    sys.argv = ["carnet", *sys.argv[1:]]
    main()
