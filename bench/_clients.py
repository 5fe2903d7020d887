"""Load-generator processes: many cheap viewers (and a few probes) per process.

The orchestrator (a bench script) talks to each worker over a pipe, one
command at a time; the worker answers each with a dict:

- ``("drains", kind, room, urls, headers)``: connect draining viewers (they only
  count frames) → ``{"connected", "failed", "errors"}``;
- ``("probes", kind, room, urls, headers, watch)``: connect probe viewers that
  hold a pycrdt Doc and time the arrival of each stamp → ``{"connected", ...}``;
- ``("mark",)``: remember frame counts (start of the measured window);
- ``("report",)``: frames since the mark, closures, and the probes' arrivals;
- ``("close",)``: close everything and exit.
"""
# ruff: noqa: ASYNC109 - benchmark scripts, blocking on purpose

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from multiprocessing.connection import Connection
from typing import Any

from _bench import YPeer, log, prioritise, quiet_loop

CONNECT_CONCURRENCY = 40
HOCUSPOCUS_KEEPALIVE = 20.0  # Hocuspocus drops a connection silent for 60 s


class Worker:
    def __init__(self, pipe: Connection, index: int) -> None:
        self.pipe = pipe
        self.index = index
        self.drains: list[YPeer] = []
        self.probes: list[YPeer] = []
        self.marks: list[int] = []
        self.keepalive: asyncio.Task[None] | None = None
        self.writers: list[tuple[YPeer, str]] = []

    async def recv(self) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self.pipe.recv)

    async def run(self) -> None:
        while True:
            command = await self.recv()
            name = command[0]
            if name == "drains":
                self.pipe.send(await self.connect_drains(*command[1:]))
            elif name == "probes":
                self.pipe.send(await self.connect_probes(*command[1:]))
            elif name == "writers":
                self.pipe.send(await self.connect_writers(*command[1:]))
            elif name == "type":
                self.pipe.send(await self.type_all(*command[1:]))
            elif name == "mark":
                self.marks = [peer.ws.frames if peer.ws else 0 for peer in self.drains]
                self.pipe.send({"ok": True})
            elif name == "report":
                self.pipe.send(self.report())
            elif name == "close":
                await self.close()
                self.pipe.send({"ok": True})
                return

    async def connect_drains(
        self, kind: str, room: str, urls: list[str], headers: dict[str, str], deflate: bool = False
    ) -> dict[str, Any]:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
        errors: list[str] = []

        async def one(url: str) -> None:
            peer = YPeer(kind, room)
            async with gate:
                try:
                    await peer.connect(url, headers, deflate)
                    # What a standard client sends first: its (empty) state vector.
                    peer.send(b"\x00\x00\x01\x00")
                    self.drains.append(peer)
                except Exception as error:
                    errors.append(repr(error)[:200])

        await asyncio.gather(*(one(url) for url in urls))
        if kind == "hocuspocus" and self.keepalive is None:
            self.keepalive = asyncio.create_task(self._keepalive())
        deflated = sum(1 for peer in self.drains if peer.ws is not None and peer.ws.deflated)
        return {
            "connected": len(self.drains),
            "failed": len(errors),
            "errors": errors[:5],
            "deflated": deflated,
        }

    async def _keepalive(self) -> None:
        await asyncio.sleep(random.uniform(5, HOCUSPOCUS_KEEPALIVE))
        while True:
            for peer in self.drains:
                # An empty SyncStep2: applied as nothing, answered with a SyncStatus.
                with contextlib.suppress(Exception):
                    peer.send(b"\x00\x01\x02\x00\x00")
            await asyncio.sleep(HOCUSPOCUS_KEEPALIVE)

    async def connect_probes(
        self,
        kind: str,
        room: str,
        urls: list[str],
        headers: dict[str, str],
        watch: tuple[str, ...],
        deflate: bool = False,
    ) -> dict[str, Any]:
        import pycrdt

        errors: list[str] = []
        for url in urls:
            peer = YPeer(kind, room, doc=pycrdt.Doc(), watch=tuple(watch))
            try:
                await peer.connect(url, headers, deflate)
                async with asyncio.timeout(30):
                    await peer.synced.wait()
                self.probes.append(peer)
            except Exception as error:
                errors.append(repr(error)[:200])
        return {"connected": len(self.probes), "failed": len(errors), "errors": errors[:5]}

    async def connect_writers(
        self,
        kind: str,
        room: str,
        urls: list[str],
        headers: dict[str, str],
        keys: list[str],
        watch: tuple[str, ...],
        apply_remote: bool,
    ) -> dict[str, Any]:
        """Editors: each holds a Doc, types into Y.Text ``text`` and stamps ``stamps[key]``."""
        import pycrdt

        errors: list[str] = []
        for url, key in zip(urls, keys, strict=True):
            peer = YPeer(
                kind,
                room,
                doc=pycrdt.Doc(),
                watch=tuple(k for k in watch if k != key),
                apply_remote=apply_remote,
            )
            try:
                await peer.connect(url, headers)
                async with asyncio.timeout(30):
                    await peer.synced.wait()
                self.writers.append((peer, key))
            except Exception as error:
                errors.append(repr(error)[:200])
        return {"connected": len(self.writers), "failed": len(errors), "errors": errors[:5]}

    async def type_all(
        self, start_at: float, duration: float, rate: float, offsets: list[float]
    ) -> dict[str, Any]:
        """Every writer types ``rate`` keystrokes a second for ``duration`` from ``start_at``."""
        import pycrdt

        async def one(peer: YPeer, key: str, offset: float) -> list[float]:
            assert peer.doc is not None
            text = peer.doc.get("text", type=pycrdt.Text)
            stamps = peer._stamps
            captured: list[bytes] = []
            subscription = peer.doc.observe(lambda event: captured.append(event.update))
            total = int(duration * rate)
            sent: list[float] = []
            for seq in range(1, total + 1):
                delay = start_at + offset + (seq - 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                captured.clear()
                with peer.doc.transaction():
                    text.insert(len(text), "etaoin shrdlu"[seq % 13])
                    stamps[key] = seq
                update = captured[-1]
                sent.append(time.monotonic())
                peer.send_update(update)
            peer.doc.unobserve(subscription)
            return sent

        results = await asyncio.gather(
            *(one(peer, key, off) for (peer, key), off in zip(self.writers, offsets, strict=True))
        )
        return {
            "sent": {key: times for (_, key), times in zip(self.writers, results, strict=True)},
        }

    def report(self) -> dict[str, Any]:
        frames = []
        closed: dict[str, int] = {}
        for peer, mark in zip(self.drains, self.marks or [0] * len(self.drains), strict=False):
            ws = peer.ws
            assert ws is not None
            frames.append(ws.frames - mark)
            if ws.transport is None or ws.transport.is_closing():
                closed[str(ws.close_code)] = closed.get(str(ws.close_code), 0) + 1
        open_probes = 0
        for peer in self.probes:
            ws = peer.ws
            assert ws is not None
            if ws.transport is None or ws.transport.is_closing():
                closed[str(ws.close_code)] = closed.get(str(ws.close_code), 0) + 1
            else:
                open_probes += 1
        writers_closed = 0
        for peer, _ in self.writers:
            ws = peer.ws
            assert ws is not None
            if ws.transport is None or ws.transport.is_closing():
                writers_closed += 1
                closed[str(ws.close_code)] = closed.get(str(ws.close_code), 0) + 1
        return {
            "writers_closed": writers_closed,
            "writer_arrivals": {key: peer.arrivals for peer, key in self.writers},
            "saved": {key: peer.saved for peer, key in self.writers},
            "denied": sum(peer.denied for peer, _ in self.writers),
            "drains": len(self.drains),
            "drain_frames": frames,
            "closed": closed,
            "probes": open_probes,
            "arrivals": [peer.arrivals for peer in self.probes],
        }

    async def close(self) -> None:
        if self.keepalive is not None:
            self.keepalive.cancel()
        for peer in self.drains + self.probes + [p for p, _ in self.writers]:
            if peer.ws is not None:
                peer.ws.close()
        await asyncio.sleep(0.2)


def worker_main(pipe: Connection, index: int) -> None:
    loop = quiet_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(Worker(pipe, index).run())
    except (EOFError, KeyboardInterrupt):
        pass
    except Exception as error:
        log(f"client worker {index} failed: {error!r}")
        with contextlib.suppress(Exception):
            pipe.send({"error": repr(error)})
    finally:
        loop.close()


class Pool:
    """``n`` worker processes (spawned, so they share nothing with the orchestrator)."""

    def __init__(self, n: int) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.procs: list[Any] = []
        for index in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(child, index), daemon=True)
            proc.start()
            prioritise(proc.pid)
            self.pipes.append(parent)
            self.procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [proc.pid for proc in self.procs]

    async def ask(self, index: int, command: tuple[Any, ...], timeout: float = 300.0) -> Any:
        self.pipes[index].send(command)
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            reply = await loop.run_in_executor(None, self.pipes[index].recv)
        if isinstance(reply, dict) and "error" in reply:
            raise RuntimeError(f"client worker {index}: {reply['error']}")
        return reply

    async def ask_all(self, commands: list[tuple[Any, ...] | None]) -> list[Any]:
        """Send each worker its command (None: skip it); the answers of those asked."""
        answers = list(
            await asyncio.gather(
                *(
                    self.ask(i, command) if command is not None else _none()
                    for i, command in enumerate(commands)
                )
            )
        )
        return [a for a, c in zip(answers, commands, strict=True) if c is not None]

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ask_all([("close",)] * len(self.pipes)), 20)
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


async def _none() -> None:
    return None
