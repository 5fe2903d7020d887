"""A minimal y-websocket client for tests: a pycrdt Doc over a real WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pycrdt
import websockets

from carnet.sync import protocol as wire


class YClient:
    def __init__(self, url: str, *, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.ws: Any = None
        self.saved_count = 0
        self.saved_seq = 0
        self.sent_updates = 0
        self.messages: list[wire.Message] = []
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        self.awareness: dict[int, str] = {}
        self.close_code: int | None = None
        self._reader: asyncio.Task[None] | None = None
        self._subscription = self.doc.observe(self._on_local_change)
        self._applying_remote = False

    def _on_local_change(self, event: pycrdt.TransactionEvent) -> None:
        if self._applying_remote or self.ws is None:
            return
        self.sent_updates += 1
        asyncio.get_running_loop().create_task(self.ws.send(wire.encode_sync_update(event.update)))

    async def connect(self) -> YClient:
        self.ws = await websockets.connect(self.url, additional_headers=self.headers)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                message = wire.decode(frame)
                self.messages.append(message)
                match message:
                    case wire.SyncStep1(state_vector):
                        await self.ws.send(
                            wire.encode_sync_step2(self.doc.get_update(state_vector))
                        )
                        await self.ws.send(wire.encode_sync_step1(self.doc.get_state()))
                    case wire.SyncStep2(update):
                        self._apply(update)
                        self.synced.set()
                    case wire.SyncUpdate(update):
                        self._apply(update)
                    case wire.AwarenessMessage(payload):
                        for entry in wire.decode_awareness(payload):
                            if entry.removed:
                                self.awareness.pop(entry.client_id, None)
                            else:
                                self.awareness[entry.client_id] = entry.state
                        self.changed.set()
                    case wire.Saved(count, seq):
                        self.saved_count, self.saved_seq = count, seq
                        self.changed.set()
                    case _:
                        self.changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            self.changed.set()

    def _apply(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False
        self.changed.set()

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def send(self, message: wire.Message) -> None:
        await self.ws.send(wire.encode(message))

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()
        if self._reader:
            await self._reader
