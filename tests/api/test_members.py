"""/api/carnets/{id}/members: who belongs to a carnet, with which role."""

from __future__ import annotations

from typing import Any

from tests.support import Cast, Person, add_member, assert_error, new_carnet


async def _members(person: Person, carnet_id: str, **params: Any) -> dict[str, Any]:
    response = await person.client.get(f"/api/carnets/{carnet_id}/members", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def _roles(page: dict[str, Any]) -> dict[str, str]:
    return {m["user"]["id"]: m["role"] for m in page["items"]}


async def test_add_list_change_remove(cast: Cast) -> None:
    alice, bruno, chloe = await cast("alice"), await cast("bruno"), await cast("chloe")
    carnet = await new_carnet(alice.client)
    member = await add_member(alice.client, carnet["id"], bruno, "contributor")
    assert member["user"] == {"id": bruno.id, "name": bruno.name}
    assert member["role"] == "contributor"
    assert "email" not in member["user"]  # members see names, not addresses
    # The email is looked up whatever its case.
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/members", json={"email": chloe.email.upper()}
    )
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "contributor"  # the default role
    page = await _members(bruno, carnet["id"])
    assert page["total"] == 3
    assert _roles(page) == {alice.id: "manager", bruno.id: "contributor", chloe.id: "contributor"}
    assert [m["user"]["id"] for m in page["items"]] == [alice.id, bruno.id, chloe.id]

    response = await alice.client.patch(
        f"/api/carnets/{carnet['id']}/members/{chloe.id}", json={"role": "viewer"}
    )
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    response = await alice.client.delete(f"/api/carnets/{carnet['id']}/members/{bruno.id}")
    assert response.status_code == 204
    assert _roles(await _members(alice, carnet["id"])) == {alice.id: "manager", chloe.id: "viewer"}
    # Bruno no longer sees the private carnet at all.
    assert_error(await bruno.client.get(f"/api/carnets/{carnet['id']}"), 404)
    assert_error(await alice.client.delete(f"/api/carnets/{carnet['id']}/members/{bruno.id}"), 404)
    assert_error(
        await alice.client.patch(
            f"/api/carnets/{carnet['id']}/members/{bruno.id}", json={"role": "viewer"}
        ),
        404,
    )


async def test_pagination(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    others = [await cast(key) for key in ("bruno", "chloe", "denis")]
    for person in others:
        await add_member(alice.client, carnet["id"], person, "viewer")
    first = await _members(alice, carnet["id"], limit=3)
    second = await _members(alice, carnet["id"], limit=3, offset=3)
    assert first["total"] == second["total"] == 4
    assert len(first["items"]) == 3 and len(second["items"]) == 1
    assert (await _members(alice, carnet["id"], offset=9))["total"] == 4


async def test_duplicate_is_a_conflict(cast: Cast) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet = await new_carnet(alice.client)
    await add_member(alice.client, carnet["id"], bruno, "viewer")
    for email in (bruno.email, bruno.email.upper()):
        response = await alice.client.post(
            f"/api/carnets/{carnet['id']}/members", json={"email": email, "role": "manager"}
        )
        assert_error(response, 409, "already_member")
    assert _roles(await _members(alice, carnet["id"]))[bruno.id] == "viewer"
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/members", json={"email": alice.email, "role": "viewer"}
    )
    assert_error(response, 409, "already_member")


async def test_unknown_email_and_bad_input(cast: Cast) -> None:
    alice = await cast("alice")
    carnet = await new_carnet(alice.client)
    path = f"/api/carnets/{carnet['id']}/members"
    response = await alice.client.post(path, json={"email": "personne@example.org"})
    assert_error(response, 422, "unknown_email")
    for body in (
        {"email": "x@example.org", "role": "owner"},
        {"role": "viewer"},
        {"email": "x" * 255},
        {"email": "a\x00@example.org"},
        {"email": "x@example.org", "extra": 1},
    ):
        assert_error(await alice.client.post(path, json=body), 400)
    response = await alice.client.patch(f"{path}/{alice.id}", json={"role": "boss"})
    assert_error(response, 400)


async def test_the_last_manager_stays(cast: Cast) -> None:
    alice, bruno = await cast("alice"), await cast("bruno")
    carnet = await new_carnet(alice.client)
    path = f"/api/carnets/{carnet['id']}/members"
    assert_error(await alice.client.delete(f"{path}/{alice.id}"), 409, "last_manager")
    for role in ("contributor", "viewer"):
        response = await alice.client.patch(f"{path}/{alice.id}", json={"role": role})
        assert_error(response, 409, "last_manager")
    # Keeping the role is no demotion.
    response = await alice.client.patch(f"{path}/{alice.id}", json={"role": "manager"})
    assert response.status_code == 200
    # With a second manager, the first may step down, then leave.
    await add_member(alice.client, carnet["id"], bruno, "manager")
    response = await alice.client.patch(f"{path}/{alice.id}", json={"role": "viewer"})
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    # Now Bruno is the last one: he can neither go nor step down.
    assert_error(await bruno.client.delete(f"{path}/{bruno.id}"), 409, "last_manager")
    response = await bruno.client.patch(f"{path}/{bruno.id}", json={"role": "contributor"})
    assert_error(response, 409, "last_manager")
    assert _roles(await _members(bruno, carnet["id"])) == {alice.id: "viewer", bruno.id: "manager"}


async def test_members_may_leave(cast: Cast) -> None:
    alice, bruno, chloe = await cast("alice"), await cast("bruno"), await cast("chloe")
    carnet = await new_carnet(alice.client, visibility="public")
    await add_member(alice.client, carnet["id"], bruno, "viewer")
    await add_member(alice.client, carnet["id"], chloe, "contributor")
    path = f"/api/carnets/{carnet['id']}/members"
    # Not somebody else...
    assert_error(await bruno.client.delete(f"{path}/{chloe.id}"), 403, "forbidden")
    assert_error(await chloe.client.delete(f"{path}/{bruno.id}"), 403, "forbidden")
    # ...but themselves.
    assert (await bruno.client.delete(f"{path}/{bruno.id}")).status_code == 204
    assert bruno.id not in _roles(await _members(alice, carnet["id"]))
    # Leaving twice: the carnet is public, so it is there, but he is not in it.
    assert_error(await bruno.client.delete(f"{path}/{bruno.id}"), 404)
    # And without a role any more, he may not list the members.
    assert_error(await bruno.client.get(path), 403)
