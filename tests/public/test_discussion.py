"""The discussion: comments' permissions, comments on the published page (and its form,
which works without JavaScript), and notifications for authors."""

from __future__ import annotations

import re

import httpx

from tests.public.helpers import import_note, public_carnet, publish
from tests.support import People, add_member, assert_error


async def comment(client: httpx.AsyncClient, note_id: str, body: str) -> httpx.Response:
    return await client.post(f"/api/notes/{note_id}/comments", json={"body": body})


async def test_comment_permissions(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")  # manager, author
    contributor = await people.new("Contributrice")
    reader = await people.new("Lectrice")  # signed in, not a member
    carnet = await public_carnet(alice)
    await add_member(alice.client, carnet["id"], contributor, "contributor")
    note = await import_note(alice, carnet["id"], "Texte.\n")
    await publish(alice, note["id"])
    private = await import_note(alice, carnet["id"], "Privé.\n")
    await alice.client.patch(f"/api/notes/{private['id']}", json={"visibility": "private"})

    # Anyone may read the discussion of a public note; only people signed in write.
    assert (await anonymous.get(f"/api/notes/{note['id']}/comments")).status_code == 200
    assert_error(await comment(anonymous, note["id"], "Bonjour"), 401)
    mine = await comment(reader.client, note["id"], "Merci pour ce <b>récit</b> !")
    assert mine.status_code == 201, mine.text
    theirs = (await comment(contributor.client, note["id"], "Je complète.")).json()
    mine_id = mine.json()["id"]

    # Editing: one's own only, even for a manager.
    path = f"/api/notes/{note['id']}/comments"
    assert (
        await reader.client.patch(f"{path}/{mine_id}", json={"body": "Merci !"})
    ).status_code == 200
    assert_error(await alice.client.patch(f"{path}/{mine_id}", json={"body": "x"}), 403)
    assert_error(await contributor.client.patch(f"{path}/{mine_id}", json={"body": "x"}), 403)
    assert_error(await anonymous.patch(f"{path}/{mine_id}", json={"body": "x"}), 401)
    # Deleting: one's own, or a manager moderating; not a contributor.
    assert_error(await contributor.client.delete(f"{path}/{mine_id}"), 403)
    assert_error(await reader.client.delete(f"{path}/{theirs['id']}"), 403)
    assert (await alice.client.delete(f"{path}/{theirs['id']}")).status_code == 204
    assert (await reader.client.delete(f"{path}/{mine_id}")).status_code == 204
    assert_error(await reader.client.delete(f"{path}/{mine_id}"), 404)  # already gone
    listed = (await anonymous.get(path)).json()
    assert [(c["deleted"], c["body"]) for c in listed["items"]] == [(True, ""), (True, "")]

    # A private note's discussion does not exist for outsiders.
    assert_error(await anonymous.get(f"/api/notes/{private['id']}/comments"), 404)
    assert_error(await comment(reader.client, private["id"], "Coucou"), 404)
    assert (await comment(contributor.client, private["id"], "Interne")).status_code == 201


async def test_comments_on_the_published_page_and_its_form(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    reader = await people.new("Lectrice Curieuse")
    carnet = await public_carnet(alice)
    note = await import_note(alice, carnet["id"], "Texte.\n", title="Note discutée")
    await publish(alice, note["id"])
    await comment(reader.client, note["id"], "Première ligne\n<script>alert(1)</script>")
    removed = (await comment(reader.client, note["id"], "À retirer")).json()
    await alice.client.delete(f"/api/notes/{note['id']}/comments/{removed['id']}")

    page = await anonymous.get(f"/n/{note['id']}")
    assert "Lectrice Curieuse" in page.text
    assert "Première ligne<br>&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "À retirer" not in page.text and "Commentaire supprimé." in page.text
    assert f'href="/login?next=/n/{note["id"]}"' in page.text  # no form for anonymous readers
    assert "<textarea" not in page.text

    # A browser session: the form carries its CSRF token and posts without JavaScript.
    browser = people.client(follow_redirects=False)
    login = await browser.post(
        "/api/auth/login", json={"email": reader.email, "password": reader.password}
    )
    assert login.status_code == 200, login.text
    page = await browser.get(f"/n/{note['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None and "<textarea" in page.text
    forged = await browser.post(f"/n/{note['id']}/comments", data={"body": "Sans jeton"})
    assert forged.status_code == 403
    posted = await browser.post(
        f"/n/{note['id']}/comments",
        data={"body": "Envoyé par le formulaire", "csrf_token": token.group(1)},
    )
    assert posted.status_code == 303
    assert posted.headers["location"].startswith(f"/n/{note['id']}#comment-")
    assert "Envoyé par le formulaire" in (await anonymous.get(f"/n/{note['id']}")).text
    # Not signed in: sent to the sign-in page.
    stranger = people.client(follow_redirects=False)
    redirected = await stranger.post(f"/n/{note['id']}/comments", data={"body": "x"})
    assert redirected.status_code == 303 and redirected.headers["location"].startswith("/login")


async def test_notifications_for_authors(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    maryse = await people.new("Maryse Gervais")
    reader = await people.new("Lectrice")
    carnet = await public_carnet(alice)
    note = await import_note(alice, carnet["id"], "Texte.\n", title="Récit commun")
    await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": maryse.id})

    await alice.client.post(f"/api/notes/{note['id']}/finalise")
    await publish(alice, note["id"])
    await comment(reader.client, note["id"], "Bravo")
    await comment(alice.client, note["id"], "Merci")

    # Maryse hears of everything Alice and the reader did; Alice of the reader's comment.
    listed = (await maryse.client.get("/api/notifications")).json()
    assert [n["kind"] for n in listed["items"]] == ["comment", "comment", "published", "finalised"]
    assert all(n["note"] == {"id": note["id"], "title": "Récit commun"} for n in listed["items"])
    assert listed["items"][1]["actor"] == {"id": reader.id, "name": "Lectrice"}
    assert listed["items"][1]["comment_id"] is not None
    own = (await alice.client.get("/api/notifications")).json()
    assert [(n["kind"], n["actor"]["name"]) for n in own["items"]] == [("comment", "Lectrice")]
    assert (await reader.client.get("/api/notifications")).json()["total"] == 0

    # Mark read: one, then all.
    assert (await maryse.client.get("/api/notifications/unread")).json() == {"unread": 4}
    first = listed["items"][0]["id"]
    marked = await maryse.client.post(f"/api/notifications/{first}/read")
    assert marked.json() == {"marked": 1, "unread": 3}
    unread = (await maryse.client.get("/api/notifications", params={"unread": "true"})).json()
    assert unread["total"] == 3 and first not in [n["id"] for n in unread["items"]]
    assert_error(await alice.client.post(f"/api/notifications/{first}/read"), 404)  # not hers
    all_read = await maryse.client.post("/api/notifications/read", json={})
    assert all_read.json() == {"marked": 3, "unread": 0}
    assert_error(await anonymous.get("/api/notifications"), 401)
