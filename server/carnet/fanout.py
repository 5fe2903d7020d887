"""Fan-out between server processes over Redis pub/sub.

Each open note has a channel ``carnet:note:{id}``; a process subscribes
while it has the note open. After committing an update a process publishes
it with its sequence number; the others apply it to their copy of the room
and pass it to their clients. Pub/sub may lose messages (a disconnect, a
restart), so sequence numbers are checked: a process that sees a gap, or
that reconnects to Redis, catches up from PostgreSQL, the source of truth.
Presence (awareness) crosses on the same channel; events (a note finalised,
rights changed, who is where) on ``carnet:events``.

With Redis down each process keeps serving its own clients and saving to
PostgreSQL; when Redis returns, every open room catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from carnet.events import Event, EventBus, decode_event, encode_event

logger = logging.getLogger(__name__)

EVENTS_CHANNEL = "carnet:events"
NOTE_PREFIX = "carnet:note:"
UPDATE = 0
PRESENCE = 1

# (origin process, kind, sequence number, payload)
_Envelope = tuple[str, int, int, bytes]
_pack = msgspec.msgpack.Encoder().encode
_unpack = msgspec.msgpack.Decoder(_Envelope).decode

RemoteHandler = Callable[[str, int, int, bytes], None]
"""``handler(note_id, kind, seq, payload)`` for messages from other processes."""


class RedisFanout:
    def __init__(self, url: str, bus: EventBus, instance: str) -> None:
        self.url = url
        self.instance = instance
        self.bus = bus
        self.client: aioredis.Redis = aioredis.from_url(url)
        self.on_remote: RemoteHandler = lambda note_id, kind, seq, payload: None
        self.on_reconnect: Callable[[], None] = lambda: None
        self.connected = False
        self.catch_ups = 0
        self._notes: set[str] = set()
        self._pubsub: Any = None
        self._changes: asyncio.Queue[tuple[bool, str]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        bus.relay_to(self._publish_event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="carnet-fanout")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.client.aclose()

    # Subscriptions -------------------------------------------------------------------

    def note_opened(self, note_id: str) -> None:
        self._notes.add(note_id)
        self._changes.put_nowait((True, note_id))

    def note_closed(self, note_id: str) -> None:
        self._notes.discard(note_id)
        self._changes.put_nowait((False, note_id))

    # Publishing ------------------------------------------------------------------------

    def publish_update(self, note_id: str, seq: int, update: bytes) -> None:
        self._send(NOTE_PREFIX + note_id, _pack((self.instance, UPDATE, seq, update)))

    def publish_presence(self, note_id: str, payload: bytes) -> None:
        self._send(NOTE_PREFIX + note_id, _pack((self.instance, PRESENCE, 0, payload)))

    def _publish_event(self, event: Event) -> None:
        self._send(EVENTS_CHANNEL, self.instance.encode() + b"\n" + encode_event(event))

    def _send(self, channel: str, message: bytes) -> None:
        if not self.connected:
            return  # lost messages are healed by catch-up when Redis returns
        task = asyncio.create_task(self._publish(channel, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, channel: str, message: bytes) -> None:
        # A pooled connection opened before Redis restarted fails once, then is
        # reopened: try again, or the message is lost although Redis is back (and
        # the last update before a pause would reach the other processes only with
        # the next one).
        for attempt in range(3):
            try:
                await self.client.publish(channel, message)
                return
            except (RedisError, OSError) as error:
                if attempt == 2:
                    logger.warning("redis publish failed: %r", error)

    # Receiving -------------------------------------------------------------------------

    async def _listen(self) -> None:
        delay = 0.1
        while True:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as error:
                if self.connected:
                    logger.warning("redis lost: %r; serving local clients only", error)
                self.connected = False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _session(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(EVENTS_CHANNEL, *(NOTE_PREFIX + n for n in self._notes))
            while not self._changes.empty():
                self._changes.get_nowait()  # the subscription above covers them
            self.connected = True
            # Whatever was published while we were away is in PostgreSQL.
            self.catch_ups += 1
            self.on_reconnect()
            while True:
                await self._apply_changes(pubsub)
                message = await pubsub.get_message(timeout=0.05)
                if message is not None:
                    self._dispatch(message["channel"], message["data"])
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _apply_changes(self, pubsub: Any) -> None:
        while not self._changes.empty():
            subscribe, note_id = self._changes.get_nowait()
            if subscribe:
                await pubsub.subscribe(NOTE_PREFIX + note_id)
            elif note_id not in self._notes:
                await pubsub.unsubscribe(NOTE_PREFIX + note_id)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        name = channel.decode()
        if name == EVENTS_CHANNEL:
            origin, _, body = data.partition(b"\n")
            if origin.decode() != self.instance:
                self.bus.deliver(decode_event(body))
            return
        try:
            origin, kind, seq, payload = _unpack(data)
        except msgspec.DecodeError:
            logger.warning("undecodable message on %s", name)
            return
        if origin != self.instance:
            self.on_remote(name.removeprefix(NOTE_PREFIX), kind, seq, payload)
