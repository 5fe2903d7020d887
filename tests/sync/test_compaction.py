"""Compaction folds the log into a snapshot without losing anything."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pycrdt
import pytest

from carnet.storage.documents import StoredDocument, load_document
from carnet.sync import protocol as wire
from carnet.sync.limits import Limits
from carnet.sync.rooms import build_doc
from tests.support import People, RunningServer, serve_app
from tests.sync.client import YClient


@pytest.fixture
async def compacting(database_url: str) -> AsyncIterator[RunningServer]:
    async with serve_app(database_url, limits=Limits(compact_rows=50)) as running:
        yield running


async def _stored(
    db: asyncpg.Pool, note_id: str, until: Callable[[StoredDocument], bool]
) -> StoredDocument:
    """The stored document, once compaction (which runs after the acks) has had its turn."""
    async with asyncio.timeout(5):
        while True:
            async with db.acquire() as conn:
                stored = await load_document(conn, note_id)
            if until(stored):
                return stored
            await asyncio.sleep(0.05)


def _text(doc: pycrdt.Doc) -> str:  # type: ignore[type-arg]
    return str(doc.get("t", type=pycrdt.Text))


async def test_long_logs_are_folded_and_reload_identically(
    compacting: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new()
    _, note_id = await people.note(alice)
    auth = {"authorization": f"Bearer {alice.token}"}
    writer = await YClient(f"{compacting.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await writer.synced.wait()
    text = writer.doc.get("t", type=pycrdt.Text)
    for i in range(240):
        text.insert(len(str(text)), f"{i % 10}")
        if i % 7 == 0:
            del text[0]
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates, timeout=10)
    expected = _text(writer.doc)

    # Folded every 50 rows: what is left is what arrived since the last fold.
    stored = await _stored(db, note_id, lambda s: s.snapshot is not None and len(s.updates) < 50)
    assert _text(build_doc(stored)) == expected

    reader = await YClient(f"{compacting.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await reader.synced.wait()
    assert _text(reader.doc) == expected
    await reader.close()
    await writer.close()


async def test_updates_waiting_for_their_parents_are_never_folded_away(
    compacting: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new()
    _, note_id = await people.note(alice)
    auth = {"authorization": f"Bearer {alice.token}"}
    # An author offline makes two changes; the second arrives first.
    offline: pycrdt.Doc = pycrdt.Doc()  # type: ignore[type-arg]
    offline_text = offline.get("t", type=pycrdt.Text)
    offline_text.insert(0, "parent ")
    parent = offline.get_update()
    state = offline.get_state()
    offline_text.insert(7, "enfant")
    child = offline.get_update(state)

    writer = await YClient(f"{compacting.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await writer.synced.wait()
    await writer.send(wire.SyncUpdate(child))
    text = writer.doc.get("t", type=pycrdt.Text)
    for i in range(120):  # enough to trigger compaction twice over
        text.insert(0, "x" if i % 2 else "y")
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates + 1, timeout=10)
    await asyncio.sleep(0.3)
    # A struct waiting for its parent holds compaction back.
    assert (await _stored(db, note_id, lambda s: True)).snapshot is None

    await writer.send(wire.SyncUpdate(parent))
    await writer.wait_for(lambda: "parent enfant" in _text(writer.doc), timeout=5)
    for _ in range(60):
        text.insert(0, "z")
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates + 2, timeout=10)
    stored = await _stored(db, note_id, lambda s: s.snapshot is not None)
    assert _text(build_doc(stored)) == _text(writer.doc)
    assert "parent enfant" in _text(build_doc(stored))
    await writer.close()
