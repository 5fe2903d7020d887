"""Who may open ``/ws/notes/{id}``, and who may write through it (issue 3, "Permissions").

Close codes (see ``carnet.sync.endpoint``): 4401 sign-in needed / bad token,
4403 forbidden (cross-origin cookie handshake), 4404 unknown or invisible note.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pycrdt

from carnet.sync import protocol as wire
from tests.support import People, Person, RunningServer
from tests.sync.client import YClient, doc_text
from tests.sync.helpers import bearer, doc_from_database, new_note


def foreign_update(text: str) -> bytes:
    """An update with content written by somebody else's Doc."""
    doc: pycrdt.Doc[object] = pycrdt.Doc()
    doc.get("text", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


async def write(client: YClient, text: str) -> None:
    """Append ``text`` through ``client`` and wait until it is saved."""
    doc_text_type = client.doc.get("text", type=pycrdt.Text)
    doc_text_type += text
    await client.wait_saved()


async def assert_refuses_content(client: YClient, expected_text: str) -> None:
    """Content from a read-only connection is refused with PermissionDenied, not applied."""
    saved = client.saved_count
    client.send_raw(wire.encode_sync_update(foreign_update("INTRUS ")))
    client.send_raw(wire.encode_sync_step2(foreign_update("INTRUS2 ")))
    await client.wait_for(lambda: len(client.of_type(wire.PermissionDenied)) == 2)
    assert all(m.reason for m in client.of_type(wire.PermissionDenied))
    await asyncio.sleep(0.1)  # anything wrongly broadcast would have arrived by now
    assert client.connected, "a read-only connection is told, not dropped"
    assert client.text() == expected_text
    assert client.saved_count == saved, "nothing of it was stored"


async def assert_unchanged(
    server: RunningServer, db: asyncpg.Pool, note_id: str, owner: Person, expected: str
) -> None:
    """A fresh editor and the database both hold exactly ``expected``."""
    fresh = await YClient(note_url(server, note_id), headers=bearer(owner)).connect()
    try:
        await fresh.wait_synced()
        assert fresh.text() == expected
    finally:
        await fresh.close()
    assert doc_text(await doc_from_database(db, note_id)) == expected


def note_url(server: RunningServer, note_id: str) -> str:
    return f"{server.ws_url}/ws/notes/{note_id}"


async def refused_with(url: str, headers: dict[str, str] | None = None) -> int | None:
    client = await YClient(url, headers=headers).connect()
    code = await client.wait_closed()
    assert not client.of_type(wire.SyncStep1), "a refused client learns nothing of the note"
    return code


async def test_viewer_is_read_only(server: RunningServer, people: People, db: asyncpg.Pool) -> None:
    alice = await people.new("Alice")
    bob = await people.new("Bob")
    carnet_id, note_id = await new_note(alice)
    response = await alice.client.post(
        f"/api/carnets/{carnet_id}/members", json={"email": bob.email, "role": "viewer"}
    )
    assert response.status_code == 201, response.text
    url = note_url(server, note_id)
    writer = await YClient(url, headers=bearer(alice)).connect()
    viewer = await YClient(url, headers=bearer(bob)).connect()
    try:
        await writer.wait_synced()
        await write(writer, "texte d’Alice")
        await viewer.wait_synced()
        # The viewer's doc was empty: it answered the server's SyncStep1 with an
        # empty SyncStep2, which is ignored — no refusal, connection kept.
        await asyncio.sleep(0.2)
        assert viewer.connected
        assert viewer.of_type(wire.PermissionDenied) == []
        await viewer.wait_for(lambda: viewer.text() == "texte d’Alice")

        await write(writer, " suite")
        await viewer.wait_for(lambda: viewer.text() == "texte d’Alice suite")

        await assert_refuses_content(viewer, "texte d’Alice suite")
        assert writer.text() == "texte d’Alice suite"
        # Still a live viewer after the refusals.
        await write(writer, ".")
        await viewer.wait_for(lambda: viewer.text() == "texte d’Alice suite.")
        # A deletion from it (an update with no new structs) is not applied either.
        viewer_text = viewer.doc.get("text", type=pycrdt.Text)
        del viewer_text[0:5]
        await asyncio.sleep(0.2)
        assert viewer.connected
        assert writer.text() == "texte d’Alice suite."
    finally:
        await viewer.close()
        await writer.close()
    await assert_unchanged(server, db, note_id, alice, "texte d’Alice suite.")


async def test_outsider_is_refused(server: RunningServer, people: People) -> None:
    alice = await people.new("Alice")
    carol = await people.new("Carol")
    _, note_id = await new_note(alice)
    assert await refused_with(note_url(server, note_id), bearer(carol)) == 4404
    assert await refused_with(note_url(server, note_id)) == 4404  # anonymous
    assert await refused_with(note_url(server, "no-such-note"), bearer(alice)) == 4404


async def test_public_note_of_public_carnet_is_read_only_for_anonymous(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice, carnet="public")
    _, hidden_id = await new_note(alice, carnet="private", note="public")
    url = note_url(server, note_id)
    writer = await YClient(url, headers=bearer(alice)).connect()
    try:
        await writer.wait_synced()
        await write(writer, "compte rendu public")
    finally:
        await writer.close()

    anonymous = await YClient(url).connect()
    try:
        await anonymous.wait_synced()
        await anonymous.wait_for(lambda: anonymous.text() == "compte rendu public")
        await assert_refuses_content(anonymous, "compte rendu public")
    finally:
        await anonymous.close()
    await assert_unchanged(server, db, note_id, alice, "compte rendu public")
    # A public note in a private carnet is not public.
    assert await refused_with(note_url(server, hidden_id)) == 4404


async def test_finalised_note_is_read_only_even_for_its_author(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = note_url(server, note_id)
    author = await YClient(url, headers=bearer(alice)).connect()
    try:
        await author.wait_synced()
        await write(author, "version finale")
    finally:
        await author.close()
    response = await alice.client.post(f"/api/notes/{note_id}/finalise")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "finalised"

    author = await YClient(url, headers=bearer(alice)).connect()
    try:
        await author.wait_synced()
        assert author.text() == "version finale"
        await assert_refuses_content(author, "version finale")
    finally:
        await author.close()
    await assert_unchanged(server, db, note_id, alice, "version finale")


async def test_finalising_turns_open_connections_read_only(
    server: RunningServer, people: People, db: asyncpg.Pool
) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    author = await YClient(note_url(server, note_id), headers=bearer(alice)).connect()
    try:
        await author.wait_synced()
        await write(author, "avant")
        response = await alice.client.post(f"/api/notes/{note_id}/finalise")
        assert response.status_code == 200, response.text
        await author.wait_for(lambda: author.of_type(wire.Status))
        await assert_refuses_content(author, "avant")
    finally:
        await author.close()
    await assert_unchanged(server, db, note_id, alice, "avant")


async def login_cookie(server: RunningServer, person: Person) -> str:
    async with httpx.AsyncClient(base_url=server.base_url) as browser:
        response = await browser.post(
            "/api/auth/login", json={"email": person.email, "password": person.password}
        )
        assert response.status_code == 200, response.text
        session = browser.cookies.get("carnet_session")
    assert session
    return f"carnet_session={session}"


async def test_cookie_handshake_checks_origin(server: RunningServer, people: People) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = note_url(server, note_id)
    cookie = await login_cookie(server, alice)

    foreign = {"cookie": cookie, "origin": "https://evil.example"}
    assert await refused_with(url, foreign) == 4403

    ours = await YClient(url, headers={"cookie": cookie, "origin": server.base_url}).connect()
    try:
        await ours.wait_synced()
        await write(ours, "par cookie")
        assert ours.connected
    finally:
        await ours.close()


async def test_token_handshake_and_revoked_token(server: RunningServer, people: People) -> None:
    alice = await people.new("Alice")
    _, note_id = await new_note(alice)
    url = note_url(server, note_id)

    client = await YClient(url, headers=bearer(alice)).connect()
    try:
        await client.wait_synced()
        await write(client, "par jeton")
    finally:
        await client.close()

    response = await alice.client.post("/api/auth/tokens", json={"label": "éphémère"})
    assert response.status_code == 201, response.text
    token = response.json()
    spare = {"authorization": f"Bearer {token['token']}"}
    client = await YClient(url, headers=spare).connect()
    try:
        await client.wait_synced()
        assert client.text() == "par jeton"
    finally:
        await client.close()
    response = await alice.client.delete(f"/api/auth/tokens/{token['id']}")
    assert response.status_code == 204, response.text
    assert await refused_with(url, spare) == 4401
    assert await refused_with(url, {"authorization": "Bearer not-a-token"}) == 4401
