"""The discussion under a note: writing, editing one's own, deleting, moderating."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support import Cast, Person, add_member, assert_error, new_carnet, new_note


async def _comment(person: Person, note_id: str, body: str = "Merci pour ce récit !") -> str:
    response = await person.client.post(f"/api/notes/{note_id}/comments", json={"body": body})
    assert response.status_code == 201, response.text
    comment_id: str = response.json()["id"]
    return comment_id


async def _thread(client: httpx.AsyncClient, note_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/notes/{note_id}/comments", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def _setting(cast: Cast) -> tuple[Person, Person, Person, str]:
    """A public note in a public carnet; Alice manages it, Bruno contributes, Chloé visits."""
    alice, bruno, chloe = (
        await cast("alice", "Alice Rivard"),
        await cast("bruno", "Bruno Tremblay"),
        await cast("chloe", "Chloé Gagnon"),
    )
    carnet = await new_carnet(alice.client, visibility="public")
    await add_member(alice.client, carnet["id"], bruno, "contributor")
    note = await new_note(alice.client, carnet["id"])
    return alice, bruno, chloe, note["id"]


async def test_write_and_read(cast: Cast) -> None:
    alice, bruno, chloe, note_id = await _setting(cast)
    response = await chloe.client.post(
        f"/api/notes/{note_id}/comments", json={"body": "Très utile, merci !"}
    )
    assert response.status_code == 201, response.text
    comment = response.json()
    assert comment["note_id"] == note_id
    assert comment["author"] == {"id": chloe.id, "name": "Chloé Gagnon"}
    assert comment["body"] == "Très utile, merci !"
    assert comment["edited_at"] is None and comment["deleted"] is False
    second = await _comment(bruno, note_id)
    third = await _comment(alice, note_id)
    page = await _thread(cast.anonymous, note_id)
    assert page["total"] == 3
    assert [c["id"] for c in page["items"]] == [comment["id"], second, third]  # oldest first
    page = await _thread(cast.anonymous, note_id, limit=2, offset=2)
    assert [c["id"] for c in page["items"]] == [third] and page["total"] == 3
    page = await _thread(cast.anonymous, note_id, offset=10)
    assert page["items"] == [] and page["total"] == 3
    # Signing in is needed to write.
    response = await cast.anonymous.post(f"/api/notes/{note_id}/comments", json={"body": "Hé"})
    assert_error(response, 401, "unauthenticated")


async def test_invalid_bodies(cast: Cast) -> None:
    alice, _, _, note_id = await _setting(cast)
    path = f"/api/notes/{note_id}/comments"
    for body in ({"body": ""}, {"body": "   \n"}, {"body": "x" * 10_001}, {}, {"body": 3},
                 {"body": "ok", "author_id": alice.id}, {"body": "a\x00b"}):  # fmt: skip
        assert_error(await alice.client.post(path, json=body), 400)
    assert (await _thread(alice.client, note_id))["total"] == 0


async def test_edit_own_only(cast: Cast) -> None:
    alice, bruno, chloe, note_id = await _setting(cast)
    comment_id = await _comment(chloe, note_id)
    path = f"/api/notes/{note_id}/comments/{comment_id}"
    response = await chloe.client.patch(path, json={"body": "Corrigé : très utile."})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["body"] == "Corrigé : très utile." and edited["edited_at"] is not None
    # Nobody else edits it, not even a manager.
    for other in (alice, bruno):
        assert_error(await other.client.patch(path, json={"body": "Non."}), 403, "forbidden")
    assert_error(await cast.anonymous.patch(path, json={"body": "Non."}), 401)
    assert_error(await chloe.client.patch(path, json={"body": ""}), 400)
    [kept] = (await _thread(alice.client, note_id))["items"]
    assert kept["body"] == "Corrigé : très utile."
    # A comment belongs to its note.
    other_note = await new_note(alice.client, (await new_carnet(alice.client))["id"])
    wrong = f"/api/notes/{other_note['id']}/comments/{comment_id}"
    assert_error(await chloe.client.patch(wrong, json={"body": "Ailleurs"}), 404)
    assert_error(await chloe.client.patch(f"/api/notes/{note_id}/comments/nope", json={}), 400)


async def test_delete_own_and_moderation(cast: Cast) -> None:
    alice, bruno, chloe, note_id = await _setting(cast)
    own = await _comment(chloe, note_id, "Premier message")
    moderated = await _comment(chloe, note_id, "Message hors sujet")
    base = f"/api/notes/{note_id}/comments"
    # A contributor does not moderate; a manager does.
    assert_error(await bruno.client.delete(f"{base}/{moderated}"), 403)
    assert_error(await cast.anonymous.delete(f"{base}/{moderated}"), 401)
    assert (await chloe.client.delete(f"{base}/{own}")).status_code == 204
    assert (await alice.client.delete(f"{base}/{moderated}")).status_code == 204
    page = await _thread(cast.anonymous, note_id)
    # Deleted comments keep their place in the thread, not their words.
    assert page["total"] == 2
    for comment in page["items"]:
        assert comment["deleted"] is True and comment["body"] == ""
        assert comment["author"]["id"] == chloe.id
    # Gone for editing and deleting again.
    assert_error(await chloe.client.delete(f"{base}/{own}"), 404)
    assert_error(await chloe.client.patch(f"{base}/{own}", json={"body": "Retour"}), 404)


async def test_private_notes_hide_their_discussion(cast: Cast) -> None:
    alice, _, chloe, _ = await _setting(cast)
    carnet = await new_carnet(alice.client)
    note = await new_note(alice.client, carnet["id"])
    comment_id = await _comment(alice, note["id"])
    base = f"/api/notes/{note['id']}/comments"
    for client in (cast.anonymous, chloe.client):
        assert_error(await client.get(base), 404)
        assert_error(await client.post(base, json={"body": "Coucou"}), 404)
        assert_error(await client.delete(f"{base}/{comment_id}"), 404)
