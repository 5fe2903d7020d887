"""Authorization over WebSocket, and revocation reaching OPEN sockets (issue 6).

Two ``carnet serve`` processes share PostgreSQL and Redis: the sockets are on
process B, every REST call that changes rights goes to process A, so each
revocation has to cross processes to take effect. (The REST permission matrix
is ``tests/api/test_permission_matrix.py``; here: the live socket.)

- every role facing a private note: who may edit, who may only read, who learns
  nothing (4404), whose credentials are refused (4401);
- a token revoked (``DELETE /api/auth/tokens/{id}``) and a session ended
  (logout) close their open sockets at once with 4401;
- a member removed from the carnet loses the socket (4404);
- a member demoted to viewer becomes read-only at once: Status ``read_only``,
  then PermissionDenied on writes, nothing of them saved.

Each test ends with the exact document on every open client and in the database.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import pycrdt
import pytest
import websockets

from carnet.sync import protocol as wire
from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    SHARED,
    CarnetServer,
    RedisServer,
    Script,
    Writer,
    assert_converged,
    bearer,
    doc_content,
    seed_from_env,
    stored_doc,
)
from tests.support import People, Person

REVOKED_WITHIN = 3.0  # seconds from the REST answer to the close, across processes


@pytest.fixture
async def pair(carnet: StartCarnet, redis: RedisServer) -> tuple[CarnetServer, CarnetServer]:
    return await carnet(redis.url), await carnet(redis.url)


def foreign_update(text: str) -> bytes:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.get("t0", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def closed_within(client: Writer, seconds: float) -> int | None:
    started = time.monotonic()
    code = await client.wait_closed(seconds)
    print(f"{client.name}: closed {code} after {time.monotonic() - started:.2f}s")
    return code


async def open_socket(url: str, headers: dict[str, str], name: str) -> Writer:
    client = Writer(url, headers=headers, name=name)
    await client.connect()
    return client


async def refused(url: str, headers: dict[str, str] | None, name: str) -> int | None:
    client = await open_socket(url, headers or {}, name)
    code = await client.wait_closed(5)
    assert not client.of_type(wire.SyncStep1), f"{name} learnt something of the note"
    await client.close()
    return code


async def open_feed(server: CarnetServer, carnet_id: str, headers: dict[str, str]) -> Any:
    """The carnet's live feed (``/ws/carnets/{id}``): JSON messages, server to client."""
    return await websockets.connect(
        f"{server.ws_url}/ws/carnets/{carnet_id}", additional_headers=headers
    )


async def feed_closed(feed: Any, seconds: float = REVOKED_WITHIN) -> int | None:
    """Read the feed until it closes; its close code (None if it stays open)."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await feed.recv()
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


async def sign_in(server: CarnetServer, person: Person) -> tuple[httpx.AsyncClient, str]:
    browser = httpx.AsyncClient(base_url=server.base_url)
    response = await browser.post(
        "/api/auth/login", json={"email": person.email, "password": person.password}
    )
    assert response.status_code == 200, response.text
    cookie = browser.cookies.get("carnet_session")
    assert cookie
    return browser, cookie


async def test_every_role_on_a_private_note(
    pair: tuple[CarnetServer, CarnetServer], people_of: Any, database: str
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    a, b = pair
    people: People = people_of(a)
    owner, manager, contributor, viewer, outsider = [
        await people.new(name) for name in ("Owner", "Manager", "Contributor", "Viewer", "Out")
    ]
    carnet_id, note_id = await people.note(owner)
    for person, role in ((manager, "manager"), (contributor, "contributor"), (viewer, "viewer")):
        response = await owner.client.post(
            f"/api/carnets/{carnet_id}/members", json={"email": person.email, "role": role}
        )
        assert response.status_code == 201, response.text
    spare = (await outsider.client.post("/api/auth/tokens", json={"label": "x"})).json()
    await outsider.client.delete(f"/api/auth/tokens/{spare['id']}")
    url = b.note_url(note_id)

    # Nothing at all for those who may not see it.
    assert await refused(url, bearer(outsider), "outsider") == 4404
    assert await refused(url, {}, "anonymous") == 4404
    assert await refused(url, {"authorization": f"Bearer {spare['token']}"}, "revoked") == 4401
    assert await refused(url, {"authorization": "Bearer ct_forged0000000000"}, "forged") == 4401
    assert await refused(url, {"authorization": "Basic b3duZXI6cHc="}, "basic") == 4401
    assert await refused(b.note_url("no-such-note"), bearer(owner), "unknown note") == 4404

    editors = [await open_socket(url, bearer(p), p.name) for p in (owner, manager, contributor)]
    reader = await open_socket(url, bearer(viewer), "viewer")
    watcher = await open_socket(f"{url}?mode=view", bearer(contributor), "contributor ?mode=view")
    clients = [*editors, reader, watcher]
    try:
        for client in clients:
            await client.synced.wait()
        script = Script(rng, editors)
        for _ in range(30):
            script.step()
            await asyncio.sleep(0.005)
        expected = await assert_converged(script, database, note_id)
        # Read-only: told no, kept connected, nothing applied or saved.
        for client in (reader, watcher):
            await client.wait_for(lambda c=client: c.content(expected) == expected, 10)  # type: ignore[misc]
            client.send_raw(wire.encode_sync_update(foreign_update("INTRUS ")))
            await client.wait_for(lambda c=client: c.of_type(wire.PermissionDenied), 5)  # type: ignore[misc]
            assert client.connected
            assert client.saved_count == 0
        await asyncio.sleep(0.2)
        for client in clients:
            assert client.content(expected) == expected, client.name
        assert doc_content(await stored_doc(database, note_id), expected) == expected
    finally:
        for client in clients:
            await client.close()


async def test_revoked_token_and_ended_session_close_open_sockets(
    pair: tuple[CarnetServer, CarnetServer], people_of: Any, database: str
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    a, b = pair
    people: People = people_of(a)
    alice = await people.new("Alice")
    carnet_id, note_id = await people.note(alice)
    url = b.note_url(note_id)
    made = await alice.client.post("/api/auth/tokens", json={"label": "script"})
    assert made.status_code == 201, made.text
    token = made.json()
    browser, cookie = await sign_in(a, alice)

    steady = await open_socket(url, bearer(alice), "steady")  # her main token: stays
    scripted = await open_socket(url, {"authorization": f"Bearer {token['token']}"}, "by token")
    in_page = await open_socket(
        url, {"cookie": f"carnet_session={cookie}", "origin": b.base_url}, "by session"
    )
    writers = [steady, scripted, in_page]
    token_feed = await open_feed(b, carnet_id, {"authorization": f"Bearer {token['token']}"})
    page_feed = await open_feed(
        b, carnet_id, {"cookie": f"carnet_session={cookie}", "origin": b.base_url}
    )
    try:
        for writer in writers:
            await writer.synced.wait()
        script = Script(rng, writers)
        for _ in range(30):
            script.step()
            await asyncio.sleep(0.005)
        converged = await assert_converged(script, database, note_id)

        response = await alice.client.delete(f"/api/auth/tokens/{token['id']}")
        assert response.status_code == 204, response.text
        assert await closed_within(scripted, REVOKED_WITHIN) == 4401
        assert await feed_closed(token_feed) == 4401
        async with httpx.AsyncClient(base_url=a.base_url) as client:
            me = await client.get(
                "/api/auth/me", headers={"authorization": f"Bearer {token['token']}"}
            )
        assert me.status_code == 401, me.text
        assert in_page.connected and steady.connected

        response = await browser.post("/api/auth/logout", headers={"origin": a.base_url})
        assert response.status_code == 204, response.text
        assert await closed_within(in_page, REVOKED_WITHIN) == 4401
        assert await feed_closed(page_feed) == 4401
        async with httpx.AsyncClient(base_url=a.base_url) as client:
            client.cookies.set("carnet_session", cookie)
            me = await client.get("/api/auth/me")
        assert me.status_code == 401, me.text
        assert steady.connected

        # The one left goes on; what the others wrote before is all there.
        for _ in range(10):
            script.step(0)
            await asyncio.sleep(0.005)
        expected = script.expected()
        await steady.wait_for(lambda: steady.content(expected) == expected, 10)
        await steady.wait_saved()
        assert doc_content(await stored_doc(database, note_id), expected) == expected
        for closed in (scripted, in_page):  # what they held when they were closed
            assert closed.content(expected) == converged
    finally:
        await browser.aclose()
        for writer in writers:
            await writer.close()
        await token_feed.close()
        await page_feed.close()


async def test_removed_member_loses_the_socket_and_demoted_one_turns_read_only(
    pair: tuple[CarnetServer, CarnetServer], people_of: Any, database: str
) -> None:
    seed = seed_from_env()
    rng = random.Random(seed)
    a, b = pair
    people: People = people_of(a)
    owner, bob, carol = [await people.new(name) for name in ("Owner", "Bob", "Carol")]
    carnet_id, note_id = await people.note(owner)
    for person in (bob, carol):
        response = await owner.client.post(
            f"/api/carnets/{carnet_id}/members",
            json={"email": person.email, "role": "contributor"},
        )
        assert response.status_code == 201, response.text
    url = b.note_url(note_id)
    writers = [await open_socket(url, bearer(p), p.name) for p in (owner, bob, carol)]
    own, bobs, carols = writers
    bobs_feed = await open_feed(b, carnet_id, bearer(bob))
    try:
        for writer in writers:
            await writer.synced.wait()
        script = Script(rng, writers)
        for _ in range(30):
            script.step()
            await asyncio.sleep(0.005)
        await assert_converged(script, database, note_id)

        response = await owner.client.delete(f"/api/carnets/{carnet_id}/members/{bob.id}")
        assert response.status_code in (200, 204), response.text
        assert await closed_within(bobs, REVOKED_WITHIN) == 4404
        assert await feed_closed(bobs_feed) == 4404
        response = await bob.client.get(f"/api/notes/{note_id}")
        assert response.status_code == 404, response.text
        assert await refused(url, bearer(bob), "bob again") == 4404

        response = await owner.client.patch(
            f"/api/carnets/{carnet_id}/members/{carol.id}", json={"role": "viewer"}
        )
        assert response.status_code == 200, response.text
        await carols.wait_for(
            lambda: any(s.code == "read_only" for s in carols.of_type(wire.Status)), REVOKED_WITHIN
        )
        assert carols.connected
        # Her edits now: refused, not applied anywhere, not saved.
        saved = carols.saved_count
        carols.doc.get("t2", type=pycrdt.Text).insert(0, "REFUSÉ ")
        await carols.wait_for(lambda: carols.of_type(wire.PermissionDenied), 5)
        assert carols.connected and carols.saved_count == saved
        # The owner goes on; the demoted one still receives.
        for _ in range(10):
            script.step(0)
            await asyncio.sleep(0.005)
        await own.wait_saved()
        names = script.names
        expected = {f"t{i}": model for i, model in enumerate(script.models)}
        expected[SHARED] = str(script.oracle().get(SHARED, type=pycrdt.Text))
        await own.wait_for(lambda: own.content(names) == expected, 10)
        others = ["t0", "t1", SHARED]  # her own text still shows her refused edit locally
        await carols.wait_for(
            lambda: carols.content(others) == {k: expected[k] for k in others}, 10
        )
        stored = await stored_doc(database, note_id)
        assert doc_content(stored, names) == expected
        # REST agrees: she may read, not write.
        assert (await carol.client.get(f"/api/notes/{note_id}")).status_code == 200
        response = await carol.client.patch(f"/api/notes/{note_id}", json={"title": "Pris"})
        assert response.status_code == 403, response.text
    finally:
        for writer in writers:
            await writer.close()
        await bobs_feed.close()
