"""Notes: creating and editing them, authors, places in carnets, order, filters, links."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.support import Cast, Person, add_member, assert_error, new_carnet, new_note


async def _get(client: httpx.AsyncClient, note_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/notes/{note_id}")
    assert response.status_code == 200, response.text
    note: dict[str, Any] = response.json()
    return note


async def _listing(client: httpx.AsyncClient, carnet_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/api/carnets/{carnet_id}/notes", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [n["id"] for n in page["items"]]


# Creating ----------------------------------------------------------------------------


async def test_create(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    carnet = await new_carnet(alice.client, visibility="public", categories=["Récit"])
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/notes",
        json={"title": "2025-02-25 Récit de la plénière", "category": "Récit"},
    )
    assert response.status_code == 201, response.text
    note = response.json()
    assert len(note["id"]) == 12
    assert note["title"] == "2025-02-25 Récit de la plénière"
    assert (note["status"], note["type"], note["licence"]) == ("draft", "note", "CC-BY-4.0")
    assert note["visibility"] == "public"  # the carnet's
    assert note["authors"] == [{"id": alice.id, "name": "Alice Rivard"}]
    assert note["created_by"] == {"id": alice.id, "name": "Alice Rivard"}
    assert note["finalised_at"] is None and note["published_at"] is None
    [place] = note["carnets"]
    assert place["carnet_id"] == carnet["id"] and place["carnet_title"] == carnet["title"]
    assert place["added_by"] == {"id": alice.id, "name": "Alice Rivard"}  # "Intégré par…"
    assert place["category"] == "Récit" and place["pinned"] is False
    assert await _get(alice.client, note["id"]) == note


async def test_visibility_defaults_to_the_carnets(cast: Cast) -> None:
    alice = await cast("alice")
    private = await new_carnet(alice.client, visibility="private")
    public = await new_carnet(alice.client, visibility="public")
    assert (await new_note(alice.client, private["id"]))["visibility"] == "private"
    assert (await new_note(alice.client, public["id"]))["visibility"] == "public"
    chosen = await new_note(
        alice.client, public["id"], visibility="private", type="term", licence="CC-BY-SA-4.0"
    )
    assert (chosen["visibility"], chosen["type"], chosen["licence"]) == (
        "private",
        "term",
        "CC-BY-SA-4.0",
    )


INVALID_NOTES: list[dict[str, Any]] = [
    {"title": ""},
    {"title": " \t "},
    {"title": "t" * 301},
    {"title": "ok", "type": "essay"},
    {"title": "ok", "visibility": "hidden"},
    {"title": "ok", "licence": "<script>"},
    {"title": "ok", "status": "published"},
    {"title": "ok", "authors": []},
    {"title": "ok\x00"},
]


@pytest.mark.parametrize("body", INVALID_NOTES, ids=[str(i) for i in range(len(INVALID_NOTES))])
async def test_create_refuses_invalid_input(cast: Cast, body: dict[str, Any]) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    response = await alice.client.post(f"/api/carnets/{carnet['id']}/notes", json=body)
    assert_error(response, 400)
    assert (await _listing(alice.client, carnet["id"]))["total"] == 0


async def test_categories_must_be_allowed(cast: Cast, db: asyncpg.Pool) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client, categories=["Récit", "Atelier"])
    before = await db.fetchval("SELECT count(*) FROM notes")
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/notes", json={"title": "Note", "category": "Poème"}
    )
    assert_error(response, 400, "unknown_category")
    # One transaction per request: the note inserted before the check is gone too.
    assert await db.fetchval("SELECT count(*) FROM notes") == before
    note = await new_note(alice.client, carnet["id"], category="Atelier")
    path = f"/api/carnets/{carnet['id']}/notes/{note['id']}"
    assert_error(await alice.client.patch(path, json={"category": "Poème"}), 400)
    assert (await alice.client.patch(path, json={"category": "Récit"})).status_code == 204
    assert (await _get(alice.client, note["id"]))["carnets"][0]["category"] == "Récit"
    assert (await alice.client.patch(path, json={"category": None})).status_code == 204
    assert (await _get(alice.client, note["id"]))["carnets"][0]["category"] is None
    # A carnet that lists no categories takes any.
    free = await new_carnet(alice.client)
    assert (await new_note(alice.client, free["id"], category="Poème"))["carnets"][0][
        "category"
    ] == "Poème"


# Editing ----------------------------------------------------------------------------


async def test_update_only_while_draft(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    note = await new_note(alice.client, carnet["id"])
    path = f"/api/notes/{note['id']}"
    response = await alice.client.patch(path, json={"title": "Nouveau titre", "type": "term"})
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["title"], changed["type"]) == ("Nouveau titre", "term")
    assert changed["visibility"] == note["visibility"]
    assert changed["updated_at"] > note["updated_at"]
    assert_error(await alice.client.patch(path, json={"title": ""}), 400)
    assert_error(await alice.client.patch(path, json={"status": "published"}), 400)

    assert (await alice.client.post(f"{path}/finalise")).status_code == 200
    for body in ({"title": "Trop tard"}, {"visibility": "public"}):
        assert_error(await alice.client.patch(path, json=body), 409, "not_draft")
    target = await new_note(alice.client, carnet["id"])
    response = await alice.client.post(f"{path}/links", json={"target_id": target["id"]})
    assert_error(response, 409, "not_draft")
    assert (await _get(alice.client, note["id"]))["title"] == "Nouveau titre"
    assert (await alice.client.post(f"{path}/reopen")).status_code == 200
    response = await alice.client.patch(path, json={"title": "Enfin"})
    assert response.status_code == 200 and response.json()["title"] == "Enfin"


async def test_delete(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    note = await new_note(alice.client, carnet["id"])
    assert (await alice.client.delete(f"/api/notes/{note['id']}")).status_code == 204
    assert_error(await alice.client.get(f"/api/notes/{note['id']}"), 404)
    assert (await _listing(alice.client, carnet["id"]))["total"] == 0
    assert_error(await alice.client.delete(f"/api/notes/{note['id']}"), 404)


# Authors ----------------------------------------------------------------------------


async def test_authors_keep_their_order(cast: Cast) -> None:
    alice, bruno, chloe = (
        await cast("alice", "Alice Rivard"),
        await cast("bruno", "Bruno Tremblay"),
        await cast("chloe", "Chloé Gagnon"),
    )
    carnet = await new_carnet(alice.client)
    note = await new_note(alice.client, carnet["id"])
    path = f"/api/notes/{note['id']}/authors"
    response = await alice.client.post(path, json={"email": chloe.email.upper()})
    assert response.status_code == 201, response.text
    response = await alice.client.post(path, json={"user_id": bruno.id})
    assert [a["id"] for a in response.json()["authors"]] == [alice.id, chloe.id, bruno.id]
    assert_error(await alice.client.post(path, json={"user_id": bruno.id}), 409, "already_author")
    assert_error(await alice.client.post(path, json={"email": "nobody@example.org"}), 422)
    assert_error(await alice.client.post(path, json={"user_id": "abcdefabcdef"}), 422)
    assert_error(await alice.client.post(path, json={}), 400, "author_missing")

    response = await alice.client.put(path, json={"user_ids": [bruno.id, alice.id, chloe.id]})
    assert response.status_code == 200, response.text
    assert response.json()["authors"] == [
        {"id": bruno.id, "name": "Bruno Tremblay"},
        {"id": alice.id, "name": "Alice Rivard"},
        {"id": chloe.id, "name": "Chloé Gagnon"},
    ]
    assert_error(await alice.client.put(path, json={"user_ids": []}), 400)
    assert_error(await alice.client.put(path, json={"user_ids": [bruno.id, bruno.id]}), 400)
    response = await alice.client.put(path, json={"user_ids": [bruno.id, "abcdefabcdef"]})
    assert_error(response, 422, "unknown_user")
    listed = await _listing(alice.client, carnet["id"])
    assert [a["id"] for a in listed["items"][0]["authors"]] == [bruno.id, alice.id, chloe.id]
    # An author who is no member of the private carnet still reaches the note, not the carnet.
    assert (await _get(chloe.client, note["id"]))["carnets"] == []
    assert_error(await chloe.client.get(f"/api/carnets/{carnet['id']}"), 404)


# Places, order, pins, filters --------------------------------------------------------


async def test_attach_and_detach(cast: Cast) -> None:
    alice, bruno = await cast("alice", "Alice Rivard"), await cast("bruno", "Bruno Tremblay")
    first = await new_carnet(alice.client, title="Premier", visibility="public")
    second = await new_carnet(bruno.client, title="Second", categories=["Récit"])
    await add_member(bruno.client, second["id"], alice, "contributor")
    note = await new_note(alice.client, first["id"])
    response = await alice.client.post(
        f"/api/carnets/{second['id']}/attach", json={"note_id": note["id"], "category": "Récit"}
    )
    assert response.status_code == 201, response.text
    places = {p["carnet_id"]: p for p in response.json()["carnets"]}
    assert set(places) == {first["id"], second["id"]}
    assert places[second["id"]]["category"] == "Récit"
    assert places[second["id"]]["added_by"]["id"] == alice.id
    response = await alice.client.post(
        f"/api/carnets/{second['id']}/attach", json={"note_id": note["id"]}
    )
    assert_error(response, 409, "already_in_carnet")
    response = await alice.client.post(
        f"/api/carnets/{second['id']}/attach", json={"note_id": "abcdefabcdef"}
    )
    assert_error(response, 404)
    # Anonymous readers see only the public carnet among the note's places.
    public_view = await _get(cast.anonymous, note["id"])
    assert [p["carnet_id"] for p in public_view["carnets"]] == [first["id"]]

    path = f"/api/carnets/{second['id']}/notes/{note['id']}"
    assert (await bruno.client.delete(path)).status_code == 204
    assert_error(await bruno.client.delete(path), 404)
    assert_error(await bruno.client.patch(path, json={}), 404)
    assert [p["carnet_id"] for p in (await _get(alice.client, note["id"]))["carnets"]] == [
        first["id"]
    ]


async def test_order_and_pins(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    a, b, c, d = [(await new_note(alice.client, carnet["id"], title=t))["id"] for t in "ABCD"]
    assert _ids(await _listing(alice.client, carnet["id"])) == [a, b, c, d]
    order = f"/api/carnets/{carnet['id']}/order"
    for wrong in ([a, b, c], [a, b, c, d, d], [a, b, c, d, "abcdefabcdef"], [a, a, b, c]):
        response = await alice.client.put(order, json={"note_ids": wrong})
        assert_error(response, 409, "order_mismatch")
    assert (await alice.client.put(order, json={"note_ids": [d, b, a, c]})).status_code == 204
    assert _ids(await _listing(alice.client, carnet["id"])) == [d, b, a, c]
    place = f"/api/carnets/{carnet['id']}/notes"
    assert (await alice.client.patch(f"{place}/{c}", json={"pinned": True})).status_code == 204
    assert (await alice.client.patch(f"{place}/{a}", json={"pinned": True})).status_code == 204
    page = await _listing(alice.client, carnet["id"])
    assert _ids(page) == [a, c, d, b]  # pinned first, each group in the manual order
    assert [n["pinned"] for n in page["items"]] == [True, True, False, False]
    assert [n["position"] for n in page["items"]] == [2, 3, 0, 1]
    page = await _listing(alice.client, carnet["id"], limit=3, offset=1)
    assert _ids(page) == [c, d, b] and page["total"] == 4
    page = await _listing(alice.client, carnet["id"], limit=3, offset=7)
    assert page["items"] == [] and page["total"] == 4
    response = await alice.client.patch(f"{place}/abcdefabcdef", json={"pinned": True})
    assert_error(response, 404)


async def test_filters(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client, categories=["Récit", "Glossaire"])
    recit = await new_note(
        alice.client, carnet["id"], title="Récit: 100% numérique", category="Récit"
    )
    term = await new_note(
        alice.client, carnet["id"], title="Agent_e", type="term", category="Glossaire"
    )
    org = await new_note(alice.client, carnet["id"], title="RADN", type="organisation")
    assert (await alice.client.post(f"/api/notes/{org['id']}/publish")).status_code == 200

    async def found(**params: Any) -> set[str]:
        return set(_ids(await _listing(alice.client, carnet["id"], **params)))

    assert await found(category="Récit") == {recit["id"]}
    assert await found(type="term") == {term["id"]}
    assert await found(type="organisation", status="published") == {org["id"]}
    assert await found(status="draft") == {recit["id"], term["id"]}
    assert await found(q="numérique") == {recit["id"]}
    assert await found(q="RADN") == {org["id"]}
    assert await found(q="radn") == {org["id"]}  # case does not matter
    # LIKE wildcards are plain characters.
    assert await found(q="100%") == {recit["id"]}
    assert await found(q="%") == {recit["id"]}
    assert await found(q="_") == {term["id"]}
    assert await found(q="Age_t") == set()  # as a wildcard, "_" would match "n"
    assert await found(category="Récit", type="term") == set()
    page = await _listing(alice.client, carnet["id"], status="draft", limit=1)
    assert page["total"] == 2 and len(page["items"]) == 1
    page = await _listing(alice.client, carnet["id"], status="draft", q="e", offset=5)
    assert page["total"] == 2 and page["items"] == []
    for bad in ({"type": "poem"}, {"status": "lost"}, {"q": "x" * 201}, {"q": "a\x00"}):
        assert_error(await alice.client.get(f"/api/carnets/{carnet['id']}/notes", params=bad), 400)


async def test_outsiders_see_public_notes_and_their_own(cast: Cast) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet = await new_carnet(alice.client, visibility="public")
    public = await new_note(alice.client, carnet["id"], visibility="public")
    private = await new_note(alice.client, carnet["id"], visibility="private")
    written = await new_note(alice.client, carnet["id"], visibility="private")
    response = await alice.client.put(
        f"/api/notes/{written['id']}/authors", json={"user_ids": [alice.id, bruno.id]}
    )
    assert response.status_code == 200
    assert set(_ids(await _listing(alice.client, carnet["id"]))) == {
        public["id"],
        private["id"],
        written["id"],
    }
    assert set(_ids(await _listing(bruno.client, carnet["id"]))) == {public["id"], written["id"]}
    page = await _listing(cast.anonymous, carnet["id"])
    assert _ids(page) == [public["id"]] and page["total"] == 1
    page = await _listing(bruno.client, carnet["id"], offset=2)
    assert page["items"] == [] and page["total"] == 2  # counts only what he may open
    assert_error(await cast.anonymous.get(f"/api/notes/{private['id']}"), 404)
    assert_error(await bruno.client.get(f"/api/notes/{private['id']}"), 404)
    # Making the carnet private hides even its public note.
    response = await alice.client.patch(
        f"/api/carnets/{carnet['id']}", json={"visibility": "private"}
    )
    assert response.status_code == 200
    assert_error(await cast.anonymous.get(f"/api/notes/{public['id']}"), 404)
    assert_error(await cast.anonymous.get(f"/api/carnets/{carnet['id']}/notes"), 404)
    assert (await _get(bruno.client, written["id"]))["carnets"] == []


# Links --------------------------------------------------------------------------------


async def _link(person: Person, source: str, target: str, kind: str = "related") -> None:
    response = await person.client.post(
        f"/api/notes/{source}/links", json={"target_id": target, "kind": kind}
    )
    assert response.status_code == 201, response.text


async def _links(client: httpx.AsyncClient, note_id: str) -> tuple[set[str], set[str]]:
    response = await client.get(f"/api/notes/{note_id}/links")
    assert response.status_code == 200, response.text
    body = response.json()
    return {n["note_id"] for n in body["links"]}, {n["note_id"] for n in body["backlinks"]}


async def test_links_and_backlinks(cast: Cast) -> None:
    alice = await cast("alice")
    public = await new_carnet(alice.client, visibility="public")
    private = await new_carnet(alice.client, visibility="private")
    story = await new_note(alice.client, public["id"], title="Récit")
    org = await new_note(alice.client, public["id"], title="RADN", type="organisation")
    term = await new_note(alice.client, public["id"], title="Agent", type="term")
    hidden = await new_note(alice.client, public["id"], title="Brouillon", visibility="private")
    secret = await new_note(alice.client, private["id"], title="Interne")
    await _link(alice, story["id"], org["id"], "organisation")
    await _link(alice, story["id"], term["id"], "term")
    await _link(alice, story["id"], hidden["id"])
    await _link(alice, secret["id"], story["id"])
    await _link(alice, hidden["id"], term["id"])

    response = await alice.client.get(f"/api/notes/{story['id']}/links")
    body = response.json()
    kinds = {n["note_id"]: (n["kind"], n["title"], n["type"]) for n in body["links"]}
    assert kinds == {
        org["id"]: ("organisation", "RADN", "organisation"),
        term["id"]: ("term", "Agent", "term"),
        hidden["id"]: ("related", "Brouillon", "note"),
    }
    assert [n["note_id"] for n in body["backlinks"]] == [secret["id"]]
    assert await _links(alice.client, term["id"]) == (set(), {story["id"], hidden["id"]})
    # Anonymous readers never learn of the notes they may not open.
    assert await _links(cast.anonymous, story["id"]) == ({org["id"], term["id"]}, set())
    assert await _links(cast.anonymous, term["id"]) == (set(), {story["id"]})

    path = f"/api/notes/{story['id']}/links"
    response = await alice.client.post(path, json={"target_id": org["id"], "kind": "organisation"})
    assert_error(response, 409, "link_exists")
    # The same pair may be linked with another kind.
    await _link(alice, story["id"], org["id"], "related")
    assert_error(await alice.client.post(path, json={"target_id": story["id"]}), 400, "self_link")
    assert_error(await alice.client.post(path, json={"target_id": org["id"], "kind": "x"}), 400)
    assert_error(await alice.client.post(path, json={"target_id": "abcdefabcdef"}), 404)
    # Linking to a note one may not open is linking to nothing.
    bruno = await cast("bruno")
    theirs = await new_carnet(bruno.client)
    unseen = await new_note(bruno.client, theirs["id"])
    assert_error(await alice.client.post(path, json={"target_id": unseen["id"]}), 404)

    assert (await alice.client.delete(f"{path}/organisation/{org['id']}")).status_code == 204
    assert_error(await alice.client.delete(f"{path}/organisation/{org['id']}"), 404)
    assert_error(await alice.client.delete(f"{path}/poem/{org['id']}"), 400)
    assert org["id"] in (await _links(alice.client, story["id"]))[0]  # the "related" one
    # Deleting a note takes its links with it.
    assert (await alice.client.delete(f"/api/notes/{hidden['id']}")).status_code == 204
    assert await _links(alice.client, term["id"]) == (set(), {story["id"]})
