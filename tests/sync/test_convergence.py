"""Randomised convergence, in the style of Yjs's own tests (issue 3, DESIGN §7).

Three to five clients edit one note — a Y.Text and a Y.Map — through the
server while a bad network holds their updates back, then delivers them
shuffled and duplicated (so the server often gets an update before its causal
parents), and drops and restores connections (losing what was held: the
SyncStep1/SyncStep2 exchange of the next connection brings it back). At the
end everyone syncs, and every client, a fresh client (the room) and a Doc
rebuilt from the database alone hold the same text and map.

Every run prints its seed; ``CARNET_SEED=<seed>`` replays a failing one
(timing still varies, the choices do not).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pycrdt
import pytest

from carnet.sync import protocol as wire
from carnet.sync.limits import Limits
from tests.support import People, RunningServer, serve_app
from tests.sync.client import YClient, doc_map, doc_text
from tests.sync.helpers import ServerProcess, bearer, doc_from_database, new_note, seed_from_env

WORDS = ["le ", "carnet ", "note ", "atelier ", "x", "y", "z", "\n", "Rencontre. "]
KEYS = ["titre", "lieu", "date", "k3", "k4"]


class Scenario:
    """Random edits and network trouble over a set of clients."""

    def __init__(
        self,
        rng: random.Random,
        clients: list[YClient],
        *,
        server_up: Callable[[], bool] = lambda: True,
    ) -> None:
        self.rng = rng
        self.clients = clients
        self.server_up = server_up
        self.log: list[str] = []

    async def step(self) -> None:
        rng = self.rng
        index = rng.randrange(len(self.clients))
        client = self.clients[index]
        text = client.doc.get("text", type=pycrdt.Text)
        roll = rng.random()
        if roll < 0.30:
            current = str(text)  # ASCII only: pycrdt's byte offsets are character offsets
            position = rng.randint(0, len(current))
            word = rng.choice(WORDS)
            text.insert(position, word)
            self.log.append(f"{index} insert {position} {word!r}")
        elif roll < 0.42:
            current = str(text)
            if current:
                start = rng.randrange(len(current))
                end = min(len(current), start + rng.randint(1, 6))
                del text[start:end]
                self.log.append(f"{index} delete {start}:{end}")
        elif roll < 0.52:
            key = rng.choice(KEYS)
            value: Any = rng.choice([rng.randint(0, 99), rng.choice(WORDS), [index, rng.random()]])
            client.doc.get("map", type=pycrdt.Map)[key] = value
            self.log.append(f"{index} map {key}={value!r}")
        elif roll < 0.55:
            shared = client.doc.get("map", type=pycrdt.Map)
            key = rng.choice(KEYS)
            if key in shared:
                del shared[key]
                self.log.append(f"{index} map del {key}")
        elif roll < 0.67:
            client.flush_outbox(rng)
            self.log.append(f"{index} flush out")
        elif roll < 0.77:
            client.flush_inbox(rng)
            self.log.append(f"{index} flush in")
        elif roll < 0.85:
            client.hold_outgoing = rng.random() < 0.6
            client.hold_incoming = rng.random() < 0.4
            self.log.append(f"{index} hold {client.hold_outgoing} {client.hold_incoming}")
        elif roll < 0.93:
            if client.connected:
                drop = rng.random() < 0.5
                await client.disconnect(drop_buffers=drop)
                self.log.append(f"{index} disconnect drop={drop}")
            elif self.server_up():
                await client.connect()
                self.log.append(f"{index} connect")
        else:
            await asyncio.sleep(rng.random() * 0.01)
        await asyncio.sleep(0)

    async def settle(self) -> None:
        """Deliver everything: reconnect, stop holding, flush, wait until all agree."""
        for client in self.clients:
            client.hold_outgoing = client.hold_incoming = False
            if not client.connected:
                await client.connect()
        for client in self.clients:
            await client.wait_synced()
            client.flush_outbox(self.rng)
            client.flush_inbox(self.rng)
        await wait_until_equal(self.clients)


def snapshot(client: YClient) -> tuple[str, dict[str, Any], dict[int, int]]:
    return (
        client.text(),
        client.map(),
        wire.decode_state_vector(client.doc.get_state()),
    )


def describe(client: YClient) -> str:
    """What a client holds and what its connection did, for a failure report."""
    me = client.doc.client_id
    handshakes = [
        (wire.decode_state_vector(server_state).get(me), len(reply))
        for server_state, reply in client.handshakes[-3:]
    ]
    return (
        f"{me}: {snapshot(client)!r}\n  connections={client.connections}"
        f" connected={client.connected} last handshakes (server clock of ours, reply bytes)="
        f"{handshakes} sent={client.sent_updates} saved={client.saved_count}"
        f" held out/in={len(client.outbox)}/{len(client.inbox)}"
    )


async def wait_until_equal(clients: list[YClient], timeout: float = 10.0) -> None:
    """Until every client holds the same state vector, text and map."""
    try:
        async with asyncio.timeout(timeout):
            while len({json.dumps(snapshot(c), sort_keys=True) for c in clients}) > 1:
                await asyncio.sleep(0.01)
    except TimeoutError:
        states = "\n".join(describe(c) for c in clients)
        raise AssertionError(f"clients did not converge:\n{states}") from None


async def check_everyone_agrees(
    clients: list[YClient], url: str, headers: dict[str, str], db: asyncpg.Pool, note_id: str
) -> None:
    """Clients, a fresh client (the room) and the database hold the same document."""
    # A last change, acknowledged: every update the server took before it is committed.
    writer = clients[0]
    writer.doc.get("map", type=pycrdt.Map)["fin"] = True
    await wait_until_equal(clients)
    for client in clients:
        await client.wait_saved()
    expected_text, expected_map = clients[0].text(), clients[0].map()
    assert expected_map.get("fin") is True

    fresh = await YClient(url, headers=headers).connect()
    try:
        await fresh.wait_synced()
        assert (fresh.text(), fresh.map()) == (expected_text, expected_map)
    finally:
        await fresh.close()

    stored = await doc_from_database(db, note_id)
    assert (doc_text(stored), doc_map(stored)) == (expected_text, expected_map)


async def close_all(clients: list[YClient]) -> None:
    for client in clients:
        await client.close()


@pytest.mark.parametrize("run", range(5))
async def test_random_edits_converge(
    server: RunningServer, people: People, db: asyncpg.Pool, run: int
) -> None:
    seed = seed_from_env(offset=run)
    rng = random.Random(seed)
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{server.ws_url}/ws/notes/{note_id}"
    headers = bearer(alice)
    clients = [YClient(url, headers=headers) for _ in range(rng.randint(3, 5))]
    scenario = Scenario(rng, clients)
    try:
        for client in clients:
            await client.connect()
        for _ in range(200):
            await scenario.step()
        await scenario.settle()
        await check_everyone_agrees(clients, url, headers, db, note_id)
        # The room itself holds the same, with nothing left waiting for parents.
        assert server.app is not None
        room = server.app.state.rooms.rooms[note_id]
        assert (doc_text(room.doc), doc_map(room.doc)) == (clients[0].text(), clients[0].map())
        assert room.pending == []
    except BaseException:
        print("\n".join(scenario.log[-40:]))
        raise
    finally:
        await close_all(clients)


async def test_random_edits_converge_across_a_server_crash(
    people: People,
    db: asyncpg.Pool,
    server_process: ServerProcess,
) -> None:
    """The same, with the server SIGKILLed in the middle and started again."""
    seed = seed_from_env()
    rng = random.Random(seed)
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    process = server_process
    url = f"{process.ws_url}/ws/notes/{note_id}"
    headers = bearer(alice)
    clients = [YClient(url, headers=headers) for _ in range(rng.randint(3, 5))]
    up = True
    scenario = Scenario(rng, clients, server_up=lambda: up)
    try:
        for client in clients:
            await client.connect()
        for step in range(300):
            if step == 120:
                process.kill()
                up = False
                for client in clients:  # every connection drops
                    await client.wait_closed()
                scenario.log.append("server killed")
            if step == 170:
                await process.start()
                up = True
                scenario.log.append("server restarted")
            await scenario.step()
        await scenario.settle()
        await check_everyone_agrees(clients, url, headers, db, note_id)
    except BaseException:
        print("\n".join(scenario.log[-40:]))
        raise
    finally:
        await close_all(clients)


# ----------------------------------------------------------------------------- cases found


async def test_client_joining_while_an_update_waits_for_its_parent_gets_it(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    """An update that arrived before its parent is pending in the room's Doc, which
    ``get_update()`` leaves out: a client syncing meanwhile must still receive it."""
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{server.ws_url}/ws/notes/{note_id}"
    offline: pycrdt.Doc[Any] = pycrdt.Doc()
    offline_text = offline.get("text", type=pycrdt.Text)
    offline_text += "parent"
    parent = offline.get_update()
    state = offline.get_state()
    offline_text += " enfant"
    child = offline.get_update(state)

    early = await YClient(url, headers=bearer(alice)).connect()
    late = YClient(url, headers=bearer(alice))
    try:
        await early.wait_synced()
        early.send_raw(wire.encode_sync_update(child))
        await early.wait_for(lambda: early.saved_count == 1)  # the room has it, pending
        await late.connect()
        await late.wait_synced()
        early.send_raw(wire.encode_sync_update(parent))
        await early.wait_for(lambda: early.text() == "parent enfant")
        await late.wait_for(lambda: late.text() == "parent enfant", timeout=2)
        await early.wait_for(lambda: early.saved_count == 2)
    finally:
        await early.close()
        await late.close()
    assert doc_text(await doc_from_database(db, note_id)) == "parent enfant"


def typed_offline() -> tuple[list[bytes], str]:
    """Five updates of one client, and the text they make."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = doc.get("text", type=pycrdt.Text)
    updates: list[bytes] = []
    subscription = doc.observe(lambda event: updates.append(event.update))
    text.insert(0, "ab")
    text.insert(1, "X")
    text.insert(3, "Y")
    del text[0:2]
    text.insert(0, "Z")
    doc.unobserve(subscription)
    return updates, str(text)


async def test_updates_of_one_client_in_any_order_all_integrate(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    """pycrdt 0.14 alone leaves update 4 pending for good after 0, 2, 4, 1 (Yjs does
    not): the room, a fresh client and the database still get the whole text."""
    updates, expected = typed_offline()
    assert expected == "ZbY"
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{server.ws_url}/ws/notes/{note_id}"
    sender = await YClient(url, headers=bearer(alice)).connect()
    try:
        await sender.wait_synced()
        for index in (0, 2, 4, 1, 3):
            sender.send_raw(wire.encode_sync_update(updates[index]))
        await sender.wait_for(lambda: sender.saved_count == 5)
        assert server.app is not None
        room = server.app.state.rooms.rooms[note_id]
        assert doc_text(room.doc) == expected
        assert room.pending == []
    finally:
        await sender.close()
    fresh = await YClient(url, headers=bearer(alice)).connect()
    try:
        await fresh.wait_synced()
        assert fresh.text() == expected
    finally:
        await fresh.close()
    assert doc_text(await doc_from_database(db, note_id)) == expected


@pytest.fixture(scope="module")
async def quick_server(database_url: str) -> AsyncIterator[RunningServer]:
    """Rooms unload 0.1 s after the last client and compact past 20 log rows."""
    limits = Limits(compact_rows=20, idle_unload_seconds=0.1)
    async with serve_app(database_url, limits=limits) as running:
        yield running


async def test_compaction_on_load_keeps_updates_waiting_for_their_parents(
    quick_server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    """A room loaded from a long log holding an update whose parent never came must
    not fold it away: when the parent comes, the text is whole."""
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = f"{quick_server.ws_url}/ws/notes/{note_id}"
    offline: pycrdt.Doc[Any] = pycrdt.Doc()
    offline_text = offline.get("text", type=pycrdt.Text)
    offline_text += "parent"
    parent = offline.get_update()
    state = offline.get_state()
    offline_text += " enfant"
    child = offline.get_update(state)
    assert quick_server.app is not None
    rooms = quick_server.app.state.rooms

    writer = await YClient(url, headers=bearer(alice)).connect()
    try:
        await writer.wait_synced()
        writer.send_raw(wire.encode_sync_update(child))
        text = writer.doc.get("text", type=pycrdt.Text)
        for _ in range(30):
            text.insert(0, "x")
        await writer.wait_for(lambda: writer.saved_count == 31)
    finally:
        await writer.close()
    async with asyncio.timeout(5):
        while note_id in rooms.rooms:  # unloaded: the next client loads it from the log
            await asyncio.sleep(0.02)

    writer = await YClient(url, headers=bearer(alice)).connect()
    try:
        await writer.wait_synced()
        await asyncio.sleep(0.3)  # a compaction at load would have run by now
        writer.send_raw(wire.encode_sync_update(parent))
        await writer.wait_for(lambda: writer.saved_count == 1)
        await writer.wait_for(lambda: "parent enfant" in writer.text())
        expected = writer.text()
    finally:
        await writer.close()
    assert expected.replace("parent enfant", "") == "x" * 30
    assert doc_text(await doc_from_database(db, note_id)) == expected
