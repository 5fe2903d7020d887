"""Invitation links: made by managers, accepted by signed-in people, limited and revocable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from tests.support import Cast, Person, add_member, assert_error, new_carnet


async def _invite(manager: Person, carnet_id: str, **fields: Any) -> dict[str, Any]:
    response = await manager.client.post(f"/api/carnets/{carnet_id}/invitations", json=fields)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def _accept(person: Person, token: str) -> dict[str, Any]:
    response = await person.client.post(f"/api/invitations/{token}/accept")
    assert response.status_code == 200, response.text
    joined: dict[str, Any] = response.json()
    return joined


async def _role(manager: Person, carnet_id: str, person: Person) -> str | None:
    response = await manager.client.get(f"/api/carnets/{carnet_id}/members")
    return {m["user"]["id"]: m["role"] for m in response.json()["items"]}.get(person.id)


async def _listed(manager: Person, carnet_id: str) -> dict[str, dict[str, Any]]:
    response = await manager.client.get(f"/api/carnets/{carnet_id}/invitations")
    assert response.status_code == 200, response.text
    return {i["id"]: i for i in response.json()["items"]}


async def test_create_list_accept(cast: Cast) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet = await new_carnet(alice.client)
    expires = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    invitation = await _invite(
        alice, carnet["id"], role="viewer", max_uses=5, expires_at=expires.isoformat()
    )
    assert invitation["role"] == "viewer" and invitation["max_uses"] == 5
    assert datetime.fromisoformat(invitation["expires_at"]) == expires
    token = invitation["token"]
    assert invitation["url"].endswith(f"/invitations/{token}")
    assert invitation["url"].startswith(cast.people.server.settings.base_url)
    listed = (await _listed(alice, carnet["id"]))[invitation["id"]]
    assert listed["uses"] == 0 and listed["revoked_at"] is None
    assert listed["created_by"] == {"id": alice.id, "name": alice.name}
    assert "token" not in listed  # the secret is shown once, at creation

    assert await _accept(bruno, token) == {"carnet_id": carnet["id"], "role": "viewer"}
    assert await _role(alice, carnet["id"], bruno) == "viewer"
    assert (await bruno.client.get(f"/api/carnets/{carnet['id']}")).json()["my_role"] == "viewer"
    assert (await _listed(alice, carnet["id"]))[invitation["id"]]["uses"] == 1


async def test_max_uses(cast: Cast) -> None:
    alice, bruno, chloe, denis = [await cast(k) for k in ("alice", "bruno", "chloe", "denis")]
    carnet = await new_carnet(alice.client)
    token = (await _invite(alice, carnet["id"], max_uses=2))["token"]
    await _accept(bruno, token)
    await _accept(chloe, token)
    response = await denis.client.post(f"/api/invitations/{token}/accept")
    assert_error(response, 410, "invitation_invalid")
    assert await _role(alice, carnet["id"], denis) is None


async def test_expiry(cast: Cast, db: asyncpg.Pool) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet = await new_carnet(alice.client)
    invitation = await _invite(
        alice, carnet["id"], expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    await db.execute(
        "UPDATE invitations SET expires_at = now() - interval '1 second' WHERE id = $1",
        invitation["id"],
    )
    response = await bruno.client.post(f"/api/invitations/{invitation['token']}/accept")
    assert_error(response, 410, "invitation_invalid")
    assert await _role(alice, carnet["id"], bruno) is None


async def test_revoke(cast: Cast) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet, other = await new_carnet(alice.client), await new_carnet(alice.client)
    invitation = await _invite(alice, carnet["id"])
    path = f"/api/carnets/{carnet['id']}/invitations/{invitation['id']}"
    # An invitation is revoked through its own carnet only.
    response = await alice.client.delete(
        f"/api/carnets/{other['id']}/invitations/{invitation['id']}"
    )
    assert_error(response, 404)
    assert (await alice.client.delete(path)).status_code == 204
    assert (await alice.client.delete(path)).status_code == 204  # already revoked: fine
    assert (await _listed(alice, carnet["id"]))[invitation["id"]]["revoked_at"] is not None
    response = await bruno.client.post(f"/api/invitations/{invitation['token']}/accept")
    assert_error(response, 410, "invitation_invalid")
    assert_error(await alice.client.delete(f"/api/carnets/{carnet['id']}/invitations/nope"), 404)


async def test_members_keep_a_higher_role(cast: Cast) -> None:
    alice, bruno, chloe = await cast("alice"), await cast("bruno"), await cast("chloe")
    carnet = await new_carnet(alice.client)
    await add_member(alice.client, carnet["id"], bruno, "contributor")
    await add_member(alice.client, carnet["id"], chloe, "viewer")
    invitation = await _invite(alice, carnet["id"], role="contributor", max_uses=1)
    token = invitation["token"]
    # A manager and a contributor keep their role, and use up nothing.
    assert await _accept(alice, token) == {"carnet_id": carnet["id"], "role": "manager"}
    assert await _accept(bruno, token) == {"carnet_id": carnet["id"], "role": "contributor"}
    assert (await _listed(alice, carnet["id"]))[invitation["id"]]["uses"] == 0
    # A viewer moves up to the invitation's role.
    assert await _accept(chloe, token) == {"carnet_id": carnet["id"], "role": "contributor"}
    assert await _role(alice, carnet["id"], alice) == "manager"
    assert await _role(alice, carnet["id"], chloe) == "contributor"
    assert (await _listed(alice, carnet["id"]))[invitation["id"]]["uses"] == 1


async def test_bad_links(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    token = (await _invite(alice, carnet["id"]))["token"]
    # Anonymous people must sign in first (and learn nothing else).
    assert_error(await cast.anonymous.post(f"/api/invitations/{token}/accept"), 401)
    response = await alice.client.post("/api/invitations/ci_unknownunknownunknown/accept")
    assert_error(response, 404)
    for bad in ("a.b", "x" * 129, "a%00b"):
        assert_error(await alice.client.post(f"/api/invitations/{bad}/accept"), 400)


async def test_invalid_creation(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    path = f"/api/carnets/{carnet['id']}/invitations"
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    assert_error(await alice.client.post(path, json={"expires_at": past}), 400, "expiry_past")
    for body in (
        {"role": "owner"},
        {"max_uses": 0},
        {"max_uses": 10_001},
        {"expires_at": "2099-01-01T00:00:00"},  # no time zone: ambiguous
        {"expires_at": "demain"},
        {"uses": 3},
    ):
        assert_error(await alice.client.post(path, json=body), 400)
    assert await _listed(alice, carnet["id"]) == {}


async def test_list_pagination(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    made = [(await _invite(alice, carnet["id"]))["id"] for _ in range(3)]
    path = f"/api/carnets/{carnet['id']}/invitations"
    page = (await alice.client.get(path, params={"limit": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    assert [i["id"] for i in page["items"]] == made[:0:-1]  # newest first
    page = (await alice.client.get(path, params={"limit": 2, "offset": 5})).json()
    assert page["total"] == 3 and page["items"] == []
