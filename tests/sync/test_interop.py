"""Interop: an unmodified Yjs client (npm ``yjs`` + ``y-websocket``) and a Python client
co-edit one note through the server; presence set in Node shows in Python and
goes away when the Node process dies (issue 3, "Interop").

``tests/js/interop.mjs`` is the Node side. ``npm ci`` runs here only when
``tests/js/node_modules`` is missing (``make test`` installs it first).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import pycrdt
import pytest

from carnet.sync import protocol as wire
from tests.support import People, RunningServer
from tests.sync.client import YClient, doc_text
from tests.sync.helpers import ROOT, bearer, doc_from_database, new_note, seed_from_env

JS_DIR = ROOT / "tests" / "js"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.fail(
            "the interop tests need Node.js 20+ and npm (Debian: apt-get install nodejs npm)"
        )
    if not (JS_DIR / "node_modules").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True)
    return JS_DIR / "node_modules"


class NodeClient:
    """``node interop.mjs``: commands as JSON lines on stdin, answers and events on stdout."""

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path
        self.events: list[dict[str, Any]] = []
        self.changed = asyncio.Event()
        self._answers: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(
        cls, ws_base: str, note_id: str, token: str, name: str, stderr_path: Path
    ) -> NodeClient:
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                shutil.which("node") or "node",
                "interop.mjs",
                ws_base,
                note_id,
                name,
                cwd=JS_DIR,
                env={**os.environ, "CARNET_TOKEN": token},
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(process, stderr_path)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            message = json.loads(line)
            answer = self._answers.pop(message.pop("id", None), None)
            if answer is not None:
                answer.set_result(message)
            else:
                self.events.append(message)
            self.changed.set()
        for pending in self._answers.values():
            pending.set_exception(RuntimeError(f"node exited:\n{self.stderr()}"))
        self.changed.set()

    async def request(self, cmd: str, *, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        number = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._answers[number] = answer
        self.process.stdin.write(json.dumps({"id": number, "cmd": cmd, **fields}).encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(timeout):
            result: dict[str, Any] = await answer
        assert "error" not in result, result
        return result

    async def event(self, name: str, timeout: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                for event in self.events:
                    if event.get("event") == name:
                        return event
                if self._reader.done():
                    raise RuntimeError(f"node exited:\n{self.stderr()}")
                self.changed.clear()
                await self.changed.wait()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def kill(self) -> None:
        """SIGKILL: the socket drops without a goodbye (no awareness removal from Node)."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        await self.process.wait()
        await self._reader
        if self.process.stdin is not None:
            self.process.stdin.close()


def byte_offset(text: str, index: int) -> int:
    """pycrdt's Text counts UTF-8 bytes; Node's text holds multi-byte characters."""
    return len(text[:index].encode())


async def python_edits(client: YClient, rng: random.Random, count: int) -> None:
    text = client.doc.get("text", type=pycrdt.Text)
    for _ in range(count):
        current = str(text)
        if current and rng.random() < 0.3:
            start = rng.randrange(len(current))
            end = min(len(current), start + rng.randint(1, 4))
            del text[byte_offset(current, start) : byte_offset(current, end)]
        else:
            word = rng.choice(["Python ", "pycrdt ", "salut ", "x", "y", "\n"])
            text.insert(byte_offset(current, rng.randint(0, len(current))), word)
        await asyncio.sleep(0 if rng.random() < 0.5 else 0.002)


async def test_yjs_websocket_provider_co_edits_with_python(
    server: RunningServer,
    people: People,
    db: asyncpg.Pool,
    node_modules: Path,
    tmp_path: Path,
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{server.ws_url}/ws/notes/{note_id}"

    python = await YClient(url, headers=bearer(alice)).connect()
    node: NodeClient | None = None
    try:
        await python.wait_synced()
        text = python.doc.get("text", type=pycrdt.Text)
        text += "Bonjour de Python. "
        await python.wait_saved()
        python.set_presence({"user": {"name": "Paul (python)", "color": "#ee6352"}})

        node = await NodeClient.start(
            server.ws_url, note_id, alice.token, "Nadia (node)", tmp_path / "node.stderr"
        )
        synced = await node.event("synced")
        assert synced["text"] == "Bonjour de Python. "
        node_id = synced["clientID"]

        # Presence both ways.
        await node.request("wait_presence", name="Paul (python)")
        await python.wait_for(lambda: node_id in python.awareness)
        assert json.loads(python.awareness[node_id])["user"]["name"] == "Nadia (node)"

        # Concurrent edits on both sides (UTF-16 in Node, UTF-8 offsets in pycrdt).
        await node.request("insert", index=0, text="🎉 ")
        node_edits = asyncio.create_task(node.request("edit", seed=seed, count=150, timeout=30))
        await python_edits(python, rng, 150)
        node_state = await node_edits

        def python_has_node() -> bool:
            clocks = wire.decode_state_vector(python.doc.get_state())
            return clocks.get(node_id, 0) >= node_state["clock"]

        await python.wait_for(python_has_node, timeout=10)
        # As in Node: a last insertion, after the deletions, moves our clock.
        python.doc.get("meta", type=pycrdt.Map)["python"] = 150
        own_clock = wire.decode_state_vector(python.doc.get_state())[python.doc.client_id]
        final = await node.request("wait_clock", client=python.doc.client_id, clock=own_clock)
        assert final["text"] == python.text()
        assert "🎉" in final["text"]

        # A last edit from Python, acknowledged: everything queued before it is stored.
        python.doc.get("meta", type=pycrdt.Map)["done"] = True
        await python.wait_saved()
        expected = python.text()

        fresh = await YClient(url, headers=bearer(alice)).connect()
        try:
            await fresh.wait_synced()
            assert fresh.text() == expected
        finally:
            await fresh.close()
        assert doc_text(await doc_from_database(db, note_id)) == expected

        # The standard client ignored Carnet's "saved" messages and carried on.
        assert "Unable to compute message" in node.stderr()

        # Node dies without a goodbye: the server removes its presence.
        await node.kill()
        await python.wait_for(lambda: node_id not in python.awareness)
        assert python.connected
    finally:
        if node is not None:
            await node.kill()
        await python.close()
