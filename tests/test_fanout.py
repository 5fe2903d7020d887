"""Two app instances sharing PostgreSQL and Redis serve the same notes."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pycrdt
import pytest

from tests.support import People, RunningServer, serve_app
from tests.sync.client import YClient

REDIS_URL = os.environ.get("CARNET_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def pair(database_url: str) -> AsyncIterator[tuple[RunningServer, RunningServer]]:
    async with (
        serve_app(database_url, redis_url=REDIS_URL, secret_key="shared-secret") as one,
        serve_app(database_url, redis_url=REDIS_URL, secret_key="shared-secret") as two,
    ):
        yield one, two


def _text(client: YClient) -> str:
    return str(client.doc.get("body", type=pycrdt.Text))


async def test_clients_on_two_processes_converge_with_presence(
    pair: tuple[RunningServer, RunningServer], people: People
) -> None:
    one, two = pair
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    auth = {"authorization": f"Bearer {alice.token}"}
    left = await YClient(f"{one.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    right = await YClient(f"{two.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await left.synced.wait()
    await right.synced.wait()
    await asyncio.sleep(0.2)  # both processes subscribed

    left.doc.get("body", type=pycrdt.Text).insert(0, "Bonjour ")
    await right.wait_for(lambda: _text(right) == "Bonjour ")
    right.doc.get("body", type=pycrdt.Text).insert(8, "le RADN")
    await left.wait_for(lambda: _text(left) == "Bonjour le RADN")

    await left.send_presence('{"user":{"name":"Alice"}}')
    await right.wait_for(lambda: any("Alice" in state for state in right.awareness.values()))
    await left.close()
    await right.wait_for(lambda: not right.awareness)
    await right.close()


async def test_a_lost_message_is_caught_up_from_postgres(
    pair: tuple[RunningServer, RunningServer], people: People
) -> None:
    one, two = pair
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    auth = {"authorization": f"Bearer {alice.token}"}
    right = await YClient(f"{two.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await right.synced.wait()
    await asyncio.sleep(0.2)
    # Process two loses the message of the writer's first update (as pub/sub
    # does during a disconnect); the second one reveals the gap, and process
    # two reads the log to fill it.
    assert two.app is not None
    rooms = two.app.state.rooms
    deliver = rooms.fanout.on_remote
    lost: list[int] = []

    def lossy(note_id: str, kind: int, seq: int, payload: bytes) -> None:
        if kind == 0 and not lost:
            lost.append(seq)
            return
        deliver(note_id, kind, seq, payload)

    rooms.fanout.on_remote = lossy
    writer = await YClient(f"{one.ws_url}/ws/notes/{note_id}", headers=auth).connect()
    await writer.synced.wait()
    text = writer.doc.get("body", type=pycrdt.Text)
    text.insert(0, "perdu ")
    await writer.wait_for(lambda: writer.saved_count == 1)
    await asyncio.sleep(0.1)
    assert lost and _text(right) == ""
    catch_ups = rooms.catch_ups
    text.insert(6, "retrouvé")
    await right.wait_for(lambda: _text(right) == "perdu retrouvé", timeout=5)
    assert rooms.catch_ups == catch_ups + 1
    await writer.close()
    await right.close()
