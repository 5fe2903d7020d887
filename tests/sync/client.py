"""A y-websocket client for tests: a pycrdt Doc over a real WebSocket.

It behaves like the standard clients (answers the server's SyncStep1 with a
SyncStep2 and sends its own SyncStep1, applies updates, tracks awareness) and
records Carnet's "saved" acknowledgements. For the randomised tests it can
also misbehave like a bad network:

- ``hold_outgoing``: local updates wait in :attr:`YClient.outbox` until
  :meth:`YClient.flush_outbox` sends them shuffled, some twice;
- ``hold_incoming``: updates from the server wait in :attr:`YClient.inbox`
  until :meth:`YClient.flush_inbox` applies them shuffled, some twice;
- :meth:`YClient.disconnect` may drop both buffers (lost messages); what was
  lost comes back through the SyncStep1/SyncStep2 exchange of the next
  :meth:`YClient.connect`, as with y-websocket.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import pycrdt
import websockets

from carnet.sync import protocol as wire
from carnet.sync.room import integrate


class YClient:
    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        doc: pycrdt.Doc[Any] | None = None,
    ) -> None:
        self.url = url
        self.headers = headers or {}
        self.doc: pycrdt.Doc[Any] = doc if doc is not None else pycrdt.Doc()
        self.ws: Any = None
        # Per connection: update frames with content sent, and what the server acknowledged.
        self.sent_updates = 0
        self.saved_count = 0
        self.saved_seq = 0
        self.acks: list[wire.Saved] = []
        self.messages: list[wire.Message] = []
        self.handshakes: list[tuple[bytes, bytes]] = []  # (server's state vector, our reply)
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.awareness: dict[int, str] = {}
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.connections = 0
        # Bad-network simulation.
        self.hold_outgoing = False
        self.hold_incoming = False
        self.outbox: list[bytes] = []
        self.inbox: list[bytes] = []
        self._out: deque[bytes | str] = deque()
        self._out_wake = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._applying_remote = False
        self._pending: list[bytes] = []
        self._subscription = self.doc.observe(self._on_local_change)

    # Connection -----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def connect(self, **options: Any) -> YClient:
        """Open a (new) connection; the handshake runs in the background."""
        assert not self.connected, "already connected"
        await self._join_tasks()  # a writer left from a connection the server dropped
        options.setdefault("max_size", None)  # a SyncStep2 holds the whole note
        self.ws = await websockets.connect(self.url, additional_headers=self.headers, **options)
        self.connections += 1
        self.sent_updates = self.saved_count = self.saved_seq = 0
        self.acks = []
        self.close_code = self.close_reason = None
        self.synced = asyncio.Event()
        # Fresh per connection: nothing queued for the last one goes out on this one.
        self._out = deque()
        self._out_wake = asyncio.Event()
        self._reader = asyncio.create_task(self._read())
        self._writer = asyncio.create_task(self._write(self.ws, self._out, self._out_wake))
        return self

    async def close(self) -> None:
        """Close the connection cleanly (buffers are kept)."""
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        await self._join_tasks()

    async def disconnect(self, *, drop_buffers: bool = True) -> None:
        """Close, and forget what the bad network was holding (it never arrives)."""
        await self.close()
        if drop_buffers:
            self.outbox.clear()
            self.inbox.clear()

    async def _join_tasks(self) -> None:
        if self._reader is not None:
            await self._reader
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None

    # Sending ------------------------------------------------------------------------

    def _on_local_change(self, event: pycrdt.TransactionEvent) -> None:
        if self._applying_remote:
            return
        frame = wire.encode_sync_update(event.update)
        if self.hold_outgoing:
            self.outbox.append(frame)
        elif self.connected:
            self._enqueue(frame)
        # Offline: the next connection's SyncStep2 carries it.

    def _enqueue(self, frame: bytes) -> None:
        # The server acknowledges every update frame with content it applied.
        if (
            frame[0] == wire.MESSAGE_SYNC
            and frame[1] in (wire.SYNC_STEP2, wire.SYNC_UPDATE)
            and not wire.is_empty_update(_update_of(frame))
        ):
            self.sent_updates += 1
        self._out.append(frame)
        self._out_wake.set()

    @staticmethod
    async def _write(ws: Any, out: deque[bytes | str], wake: asyncio.Event) -> None:
        """Send one connection's queued frames in order, so that nothing overtakes."""
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                while out:
                    await ws.send(out.popleft())
                wake.clear()
                await wake.wait()

    async def send_presence(self, state: str, clock: int = 1) -> None:
        entry = wire.AwarenessEntry(self.doc.client_id, clock, state)
        await self.send(wire.AwarenessMessage(wire.encode_awareness([entry])))

    async def send(self, message: wire.Message) -> None:
        """Send a message now (ahead of nothing: it waits behind queued frames)."""
        self.send_raw(wire.encode(message))

    def send_raw(self, frame: bytes | str) -> None:
        """Queue any frame as is (a str goes as a text frame), not counted as an update."""
        self._out.append(frame)
        self._out_wake.set()

    def set_presence(self, state: dict[str, Any] | None, *, clock: int = 1) -> None:
        """Announce (or, with None, remove) this doc's awareness state."""
        entry = wire.AwarenessEntry(
            self.doc.client_id, clock, "null" if state is None else json.dumps(state)
        )
        self._enqueue(wire.encode_awareness_message(wire.encode_awareness([entry])))

    def flush_outbox(self, rng: random.Random, *, duplicate: float = 0.2) -> None:
        """Send the held updates shuffled, some of them twice."""
        frames, self.outbox = self.outbox, []
        frames += [frame for frame in frames if rng.random() < duplicate]
        rng.shuffle(frames)
        if self.connected:
            for frame in frames:
                self._enqueue(frame)

    def flush_inbox(self, rng: random.Random, *, duplicate: float = 0.2) -> None:
        """Apply the held incoming updates shuffled, some of them twice."""
        updates, self.inbox = self.inbox, []
        updates += [update for update in updates if rng.random() < duplicate]
        rng.shuffle(updates)
        for update in updates:
            self._apply(update)

    # Receiving ------------------------------------------------------------------

    async def _read(self) -> None:
        ws = self.ws
        try:
            async for frame in ws:
                if isinstance(frame, str):
                    raise AssertionError(f"the server sent a text frame: {frame!r}")
                message = wire.decode(frame)
                self.messages.append(message)
                match message:
                    case wire.SyncStep1(state_vector):
                        reply = self.doc.get_update(state_vector)
                        self.handshakes.append((state_vector, reply))
                        self._enqueue(wire.encode_sync_step2(reply))
                        self._enqueue(wire.encode_sync_step1(self.doc.get_state()))
                    case wire.SyncStep2(update):
                        self._apply(update)
                        self.synced.set()
                    case wire.SyncUpdate(update):
                        if self.hold_incoming:
                            self.inbox.append(update)
                        else:
                            self._apply(update)
                    case wire.AwarenessMessage(payload):
                        for entry in wire.decode_awareness(payload):
                            if entry.removed:
                                self.awareness.pop(entry.client_id, None)
                            else:
                                self.awareness[entry.client_id] = entry.state
                    case wire.Saved(count, seq):
                        assert count > self.saved_count, (count, self.saved_count)
                        self.saved_count, self.saved_seq = count, seq
                        self.acks.append(message)
                    case _:
                        pass
                self.changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = ws.close_code
            self.close_reason = ws.close_reason
            self._out_wake.set()
            self.changed.set()

    def _apply(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
            # pycrdt can leave a reordered update pending for good: see room.integrate.
            self._pending = integrate(self.doc, [*self._pending, update])
        finally:
            self._applying_remote = False
        self.changed.set()

    # Waiting ----------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def wait_synced(self, timeout: float = 10.0) -> None:
        """Until the server answered our SyncStep1; fails if the connection closes first."""
        await self.wait_for(lambda: self.synced.is_set() or not self.connected, timeout)
        assert self.synced.is_set(), f"closed before sync: {self.close_code} {self.close_reason}"

    async def wait_saved(self, timeout: float = 10.0) -> None:
        """Until the server acknowledged every update sent on this connection."""
        await self.wait_for(lambda: self.saved_count >= self.sent_updates, timeout)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await self.wait_for(lambda: not self.connected, timeout)
        return self.close_code

    def of_type(self, kind: type[wire.Message]) -> list[Any]:
        return [message for message in self.messages if isinstance(message, kind)]

    # Content ------------------------------------------------------------------------

    def text(self, name: str = "text") -> str:
        return str(self.doc.get(name, type=pycrdt.Text))

    def map(self, name: str = "map") -> dict[str, Any]:
        return dict(self.doc.get(name, type=pycrdt.Map).to_py() or {})


def _update_of(frame: bytes) -> bytes:
    """The update inside a SyncStep2 or SyncUpdate frame."""
    message = wire.decode(frame)
    assert isinstance(message, wire.SyncStep2 | wire.SyncUpdate)
    return message.update


def doc_text(doc: pycrdt.Doc[Any], name: str = "text") -> str:
    return str(doc.get(name, type=pycrdt.Text))


def doc_map(doc: pycrdt.Doc[Any], name: str = "map") -> dict[str, Any]:
    return dict(doc.get(name, type=pycrdt.Map).to_py() or {})
