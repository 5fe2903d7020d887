"""Durability: a real editing trace typed through the server, the server killed with
SIGKILL in the middle of typing, restarted (issue 3, "seph-blog1 replayed").

The client types ``seph-blog1`` one Yjs update per trace transaction, pipelined
(a bounded window of unacknowledged updates) and paced under the server's
rate limit, and records every "saved" acknowledgement. After the SIGKILL:

- the database holds a prefix of what was sent — exactly the first ``m``
  updates, with ``acknowledged <= m <= sent`` — and the document rebuilt from
  the database alone has exactly the text of the first ``m`` transactions, so
  every update acknowledged before the kill is there;
- once the server is back, the client reconnects and re-sends what the server
  lacks through the SyncStep1/SyncStep2 exchange (as y-websocket clients do),
  types the rest, and a fresh client reads exactly the expected text.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import time

import asyncpg
import pycrdt
import pytest

from carnet.sync.rooms import build_doc
from tests.support import People
from tests.sync.client import YClient, doc_text
from tests.sync.helpers import ROOT, ServerProcess, bearer, new_note, stored_document

TRACES = ROOT.parent / "shared" / "data" / "editing-traces"
Patch = tuple[int, int, str]

# The server allows 5,000 frames a second per connection after a burst of
# 20,000 (carnet.sync.limits.Limits): a replay at full speed stays under it.
RATE = 4000.0
BURST = 15000.0
WINDOW = 256  # updates sent and not yet acknowledged


@functools.cache
def load_trace(name: str) -> tuple[list[list[Patch]], str]:
    path = TRACES / f"{name}.json.gz"
    if not path.exists():
        pytest.fail(f"editing trace missing: {path} (shared/data/editing-traces)")
    with gzip.open(path, "rt", encoding="utf-8") as file:
        trace = json.load(file)
    assert trace["startContent"] == ""
    txns = [[(int(p[0]), int(p[1]), str(p[2])) for p in txn["patches"]] for txn in trace["txns"]]
    return txns, trace["endContent"]


def text_after(txns: list[list[Patch]], count: int) -> str:
    """The text after the first ``count`` transactions (Array.splice semantics)."""
    text = ""
    for patches in txns[:count]:
        for position, deleted, inserted in patches:
            text = text[:position] + inserted + text[position + deleted :]
    return text


class Typist:
    """Types a trace into a client's Y.Text, one update per transaction."""

    def __init__(self, client: YClient, txns: list[list[Patch]]) -> None:
        self.client = client
        self.txns = txns
        self.text = client.doc.get("text", type=pycrdt.Text)
        self.done = 0  # transactions typed
        # For the n-th update frame of the first connection: transactions typed by then.
        self.frames: list[int] = []
        self.restart_pacing()

    def restart_pacing(self) -> None:
        """The server's rate limit is per connection: a new connection starts afresh."""
        self._started = time.monotonic()
        self._paced = 0

    def type_one(self) -> None:
        sent = self.client.sent_updates
        with self.client.doc.transaction():
            for position, deleted, inserted in self.txns[self.done]:
                if deleted:
                    del self.text[position : position + deleted]
                if inserted:
                    self.text.insert(position, inserted)
        self.done += 1
        if self.client.sent_updates > sent:
            self.frames.append(self.done)

    async def type_until(self, stop: int) -> None:
        """Type up to transaction ``stop``, as fast as acknowledgements and the rate allow."""
        client = self.client
        while self.done < stop and client.connected:
            if client.sent_updates - client.saved_count >= WINDOW:
                await client.wait_for(
                    lambda: (
                        client.sent_updates - client.saved_count < WINDOW or not client.connected
                    ),
                    timeout=60,
                )
                continue
            allowed = BURST + RATE * (time.monotonic() - self._started)
            if self._paced >= allowed:
                await asyncio.sleep((self._paced - allowed) / RATE + 0.001)
                continue
            self.type_one()
            self._paced += 1
            if self.done % 32 == 0:
                await asyncio.sleep(0)  # let the writer and reader tasks run

    def type_offline(self, count: int) -> None:
        for _ in range(count):
            self.type_one()


async def replay_with_a_crash(
    process: ServerProcess,
    people: People,
    db: asyncpg.Pool,
    txns: list[list[Patch]],
    kill_at: int,
    expected: str,
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{process.ws_url}/ws/notes/{note_id}"
    client = await YClient(url, headers=bearer(alice)).connect()
    typist = Typist(client, txns)
    try:
        await client.wait_synced()
        started = time.monotonic()
        await typist.type_until(kill_at)
        print(f"typed {kill_at} transactions in {time.monotonic() - started:.1f}s")
        assert client.connected, f"cut off before the kill: {client.close_code}"
        process.kill()  # in the middle of typing: updates in flight, unacknowledged
        await client.wait_closed()
        acknowledged, sent = client.saved_count, client.sent_updates
        acks = list(client.acks)
        print(f"killed after {sent} updates sent, {acknowledged} acknowledged")

        # Acknowledgements count this connection's updates; one writer, so the
        # note's sequence number is the same count.
        assert acks and all(ack.seq == ack.count for ack in acks)
        stored = await stored_document(db, note_id)
        rows = stored.last_seq
        assert acknowledged <= rows <= sent, (acknowledged, rows, sent)
        typed = typist.frames[rows - 1] if rows else 0
        assert doc_text(build_doc(stored)) == text_after(txns, typed), "database ≠ prefix"

        typist.type_offline(min(300, len(txns) - typist.done))  # while the server is down
        await process.start()
        await client.connect()
        typist.restart_pacing()
        await client.wait_synced()
        started = time.monotonic()
        await typist.type_until(len(txns))
        print(f"typed the rest in {time.monotonic() - started:.1f}s")
        assert typist.done == len(txns), f"cut off: {client.close_code} {client.close_reason}"
        await client.wait_saved(timeout=60)
        assert client.connected, f"cut off after the restart: {client.close_code}"
        assert all(ack.seq == rows + ack.count for ack in client.acks)
        assert client.text() == expected
    finally:
        await client.close()

    fresh = await YClient(url, headers=bearer(alice)).connect()
    try:
        await fresh.wait_synced(timeout=30)
        assert fresh.text() == expected
    finally:
        await fresh.close()
    assert doc_text(build_doc(await stored_document(db, note_id))) == expected


async def test_acknowledged_updates_survive_sigkill(
    server_process: ServerProcess, people: People, db: asyncpg.Pool
) -> None:
    """The first 5,000 transactions of seph-blog1, killed after 2,500."""
    txns, _ = load_trace("seph-blog1")
    prefix = txns[:5000]
    await replay_with_a_crash(
        server_process, people, db, prefix, kill_at=2500, expected=text_after(prefix, 5000)
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_whole_trace_survives_sigkill(
    server_process: ServerProcess, people: People, db: asyncpg.Pool
) -> None:
    """All of seph-blog1 (137k transactions), killed halfway: a fresh client reads endContent."""
    txns, end_content = load_trace("seph-blog1")
    await replay_with_a_crash(
        server_process, people, db, txns, kill_at=len(txns) // 2, expected=end_content
    )
