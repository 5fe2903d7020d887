"""/api/carnets: creating, reading, changing, deleting and listing carnets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support import Cast, People, add_member, assert_error, new_carnet, new_note

FULL = {
    "title": "RADN 2025 — 12e rencontre nationale",
    "visibility": "public",
    "description": "Les notes de la rencontre des agent·e·s de développement numérique.",
    "event_name": "12e rencontre nationale du RADN",
    "event_start": "2025-02-25",
    "event_end": "2025-02-27",
    "event_place": "Trois-Rivières",
    "writing_guide": "Titrez vos notes AAAA-MM-JJ, puis le sujet.",
    "categories": ["Récit", "Atelier", "Glossaire"],
}


async def test_create_with_every_field(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    response = await alice.client.post("/api/carnets", json=FULL)
    assert response.status_code == 201, response.text
    carnet = response.json()
    for name, value in FULL.items():
        assert carnet[name] == value, name
    assert len(carnet["id"]) == 12
    assert carnet["created_by"] == {"id": alice.id, "name": "Alice Rivard"}
    assert carnet["my_role"] == "manager"
    assert carnet["note_count"] == 0
    assert carnet["created_at"] == carnet["updated_at"]
    response = await alice.client.get(f"/api/carnets/{carnet['id']}")
    assert response.status_code == 200
    assert response.json() == carnet


async def test_defaults(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    carnet = await new_carnet(alice.client)
    assert carnet["visibility"] == "private"
    assert carnet["description"] == carnet["event_name"] == carnet["event_place"] == ""
    assert carnet["event_start"] is None and carnet["event_end"] is None
    assert carnet["categories"] == []


INVALID: list[tuple[str, dict[str, Any]]] = [
    ("end-before-start", {"event_start": "2025-02-27", "event_end": "2025-02-25"}),
    ("no-title", {"title": None}),
    ("empty-title", {"title": ""}),
    ("blank-title", {"title": "   "}),
    ("long-title", {"title": "t" * 201}),
    ("title-not-text", {"title": 12}),
    ("nul-in-title", {"title": "RADN\x002025"}),
    ("nul-in-description", {"description": "a\x00b"}),
    ("bad-visibility", {"visibility": "secret"}),
    ("bad-date", {"event_start": "25/02/2025"}),
    ("long-description", {"description": "d" * 20_001}),
    ("long-place", {"event_place": "p" * 301}),
    ("too-many-categories", {"categories": [f"c{i}" for i in range(51)]}),
    ("empty-category", {"categories": [""]}),
    ("long-category", {"categories": ["c" * 81]}),
    ("twice-the-same-category", {"categories": ["Récit", "Atelier", "Récit"]}),
    ("unknown-field", {"colour": "red"}),
    ("server-field", {"id": "abcdefabcdef"}),
    ("note-count", {"note_count": 3}),
]


@pytest.mark.parametrize(("case", "change"), INVALID, ids=[c for c, _ in INVALID])
async def test_create_refuses_invalid_input(
    people: People, case: str, change: dict[str, Any]
) -> None:
    alice = await people.new()
    body = {"title": "RADN 2025", "visibility": "public", **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = await alice.client.post("/api/carnets", json=body)
    assert_error(response, 400)
    mine = await alice.client.get("/api/carnets", params={"scope": "mine"})
    assert mine.json()["total"] == 0  # nothing half-written


async def test_malformed_json_and_wrong_shapes(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    headers = {"content-type": "application/json"}
    for raw in (b"{", b'{"title": "a",}', b"[]", b'"RADN"', b"", b"\xff\xfe"):
        response = await alice.client.post("/api/carnets", content=raw, headers=headers)
        assert_error(response, 400)


async def test_oversized_body_is_refused(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    limit = cast.people.server.settings.max_body_bytes
    body = b'{"title": "RADN", "description": "' + b"x" * limit + b'"}'
    response = await alice.client.post(
        "/api/carnets", content=body, headers={"content-type": "application/json"}
    )
    assert_error(response, 413)


async def test_update_changes_only_what_is_sent(cast: Cast) -> None:
    alice = await cast("alice", "Alice Rivard")
    carnet = await new_carnet(alice.client, **FULL)
    response = await alice.client.patch(
        f"/api/carnets/{carnet['id']}", json={"title": "RADN 2025", "categories": ["Récit"]}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["title"] == "RADN 2025" and changed["categories"] == ["Récit"]
    for name in ("description", "event_name", "event_start", "event_end", "writing_guide"):
        assert changed[name] == carnet[name]
    assert changed["updated_at"] > carnet["updated_at"]
    # Dates can be cleared, and stay in order with what is already stored.
    response = await alice.client.patch(f"/api/carnets/{carnet['id']}", json={"event_end": None})
    assert response.status_code == 200 and response.json()["event_end"] is None
    response = await alice.client.patch(
        f"/api/carnets/{carnet['id']}", json={"event_end": "2025-02-24"}
    )
    assert_error(response, 400, "event_dates")
    response = await alice.client.patch(
        f"/api/carnets/{carnet['id']}", json={"event_start": "2025-03-01", "event_end": None}
    )
    assert response.status_code == 200
    response = await alice.client.patch(f"/api/carnets/{carnet['id']}", json={"title": None})
    assert_error(response, 400)
    response = await alice.client.patch(f"/api/carnets/{carnet['id']}", json={"slug": "x"})
    assert_error(response, 400)
    after = (await alice.client.get(f"/api/carnets/{carnet['id']}")).json()
    assert after["title"] == "RADN 2025" and after["event_start"] == "2025-03-01"


async def test_delete(cast: Cast) -> None:
    alice, anonymous = await cast("alice", "Alice Rivard"), cast.anonymous
    carnet = await new_carnet(alice.client, visibility="public")
    note = await new_note(alice.client, carnet["id"])
    response = await alice.client.delete(f"/api/carnets/{carnet['id']}")
    assert response.status_code == 204
    assert_error(await alice.client.get(f"/api/carnets/{carnet['id']}"), 404, "not_found")
    assert_error(await anonymous.get(f"/api/carnets/{carnet['id']}"), 404)
    assert_error(await alice.client.delete(f"/api/carnets/{carnet['id']}"), 404)
    # The note outlives the carnet; its author still has it.
    response = await alice.client.get(f"/api/notes/{note['id']}")
    assert response.status_code == 200 and response.json()["carnets"] == []


async def test_unknown_and_malformed_ids(cast: Cast) -> None:
    alice, anonymous = await cast("alice", "Alice Rivard"), cast.anonymous
    assert_error(await alice.client.get("/api/carnets/abcdefabcdef"), 404, "not_found")
    assert_error(await anonymous.get("/api/carnets/abcdefabcdef"), 404, "not_found")
    for bad in ("a%00b", "a.b", "x" * 65):
        assert_error(await alice.client.get(f"/api/carnets/{bad}"), 400)


async def test_pagination(people: People) -> None:
    alice = await people.new()
    ids = [(await new_carnet(alice.client, title=f"Carnet {i}"))["id"] for i in range(5)]

    async def page(**params: Any) -> dict[str, Any]:
        response = await alice.client.get("/api/carnets", params={"scope": "mine", **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    first = await page(limit=2)
    assert (first["limit"], first["offset"], first["total"]) == (2, 0, 5)
    assert len(first["items"]) == 2
    seen = [c["id"] for p in (first, await page(limit=2, offset=2), await page(limit=2, offset=4))
            for c in p["items"]]  # fmt: skip
    assert sorted(seen) == sorted(ids)
    assert seen == [c["id"] for c in (await page())["items"]]  # newest change first
    assert seen[0] == ids[-1]
    past_the_end = await page(limit=2, offset=10)
    assert past_the_end["items"] == [] and past_the_end["total"] == 5
    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}, {"limit": "many"}):
        response = await alice.client.get("/api/carnets", params=bad)
        assert_error(response, 400)


async def test_scopes(people: People, anonymous: httpx.AsyncClient) -> None:
    alice, bruno = await people.new("Alice"), await people.new("Bruno")
    public = await new_carnet(alice.client, title="Public", visibility="public")
    private = await new_carnet(alice.client, title="Privé")
    shared = await new_carnet(bruno.client, title="Partagé")
    await add_member(bruno.client, shared["id"], alice, "viewer")

    async def ids(client: httpx.AsyncClient, **params: Any) -> set[str]:
        response = await client.get("/api/carnets", params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        return {c["id"] for c in response.json()["items"]}

    assert await ids(alice.client) == {public["id"], private["id"], shared["id"]}
    assert await ids(alice.client, scope="mine") == {public["id"], private["id"], shared["id"]}
    everyone = await ids(alice.client, scope="public")
    assert public["id"] in everyone
    assert not everyone & {private["id"], shared["id"]}
    assert await ids(anonymous) == everyone
    assert await ids(anonymous, scope="public") == everyone
    response = await anonymous.get("/api/carnets", params={"scope": "mine"})
    assert response.status_code == 200 and response.json()["total"] == 0
    assert_error(await anonymous.get("/api/carnets", params={"scope": "all"}), 400)
    roles = {
        c["id"]: c["my_role"] for c in (await alice.client.get("/api/carnets")).json()["items"]
    }
    assert roles == {public["id"]: "manager", private["id"]: "manager", shared["id"]: "viewer"}


async def test_note_count_counts_only_what_the_reader_may_open(cast: Cast) -> None:
    alice, bruno, anonymous = (
        await cast("alice", "Alice Rivard"),
        await cast("bruno"),
        cast.anonymous,
    )
    carnet = await new_carnet(alice.client, visibility="public")
    await new_note(alice.client, carnet["id"], visibility="public")
    await new_note(alice.client, carnet["id"], visibility="private")
    await new_note(alice.client, carnet["id"], visibility="private")
    path = f"/api/carnets/{carnet['id']}"
    assert (await alice.client.get(path)).json()["note_count"] == 3
    assert (await anonymous.get(path)).json()["note_count"] == 1
    assert (await bruno.client.get(path)).json()["note_count"] == 1
    assert (await anonymous.get(path)).json()["my_role"] is None
