"""Writing frames straight to a connection's transport: the hot path of fan-out.

Through ASGI, each frame to each client costs a queue, a task wake-up, the
framework's send wrappers and the server's framing — about 25 µs. A room
sends the *same* bytes to many clients; framed once and written with one
``transport.write`` per client, it costs a few µs (docs/performance.md).

This needs uvicorn's protocol object, reached through its ASGI ``send``
(a bound method), which the outermost middleware keeps in the scope under
:data:`RAW_SEND`. When it is not there, when the connection negotiated an
extension (compression changes the framing), when it is not open, or when
the client is not keeping up, frames take the ordinary ASGI path, so nothing
depends on uvicorn's internals beyond a speed-up.
"""

from __future__ import annotations

from typing import Any

RAW_SEND = "carnet.raw_send"

_OPEN = 1  # websockets.protocol.State.OPEN

_last: tuple[bytes, bytes] = (b"", b"\x82\x00")


def binary_frame(payload: bytes) -> bytes:
    """An unmasked, final, binary WebSocket frame (server to client), cached by identity."""
    global _last
    if _last[0] is payload:
        return _last[1]
    size = len(payload)
    if size < 126:
        header = bytes((0x82, size))
    elif size < 65536:
        header = bytes((0x82, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x82, 127)) + size.to_bytes(8, "big")
    framed = header + payload
    _last = (payload, framed)
    return framed


class DirectWriter:
    """The transport of one uvicorn WebSocket connection, when it may be written directly."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    @classmethod
    def for_scope(cls, scope: Any) -> DirectWriter | None:
        protocol = getattr(scope.get(RAW_SEND), "__self__", None)
        conn = getattr(protocol, "conn", None)
        if (
            protocol is None
            or getattr(protocol, "transport", None) is None
            or getattr(protocol, "writable", None) is None
            or conn is None
            or getattr(conn, "extensions", None)
        ):
            return None
        return cls(protocol)

    def ready(self) -> bool:
        protocol = self._protocol
        return (
            protocol.conn.state == _OPEN
            and not protocol.close_sent
            and protocol.writable.is_set()
            and not self._transport.is_closing()
        )

    def buffered(self) -> int:
        size: int = self._transport.get_write_buffer_size()
        return size

    def write(self, payload: bytes) -> None:
        self._transport.write(binary_frame(payload))
