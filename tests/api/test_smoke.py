from __future__ import annotations

import httpx

from tests.support import People


async def test_carnet_and_note_flow(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    response = await alice.client.post(
        "/api/carnets", json={"title": "RADN 2025", "visibility": "public"}
    )
    assert response.status_code == 201, response.text
    carnet_id = response.json()["id"]
    response = await alice.client.post(f"/api/carnets/{carnet_id}/notes", json={"title": "Récit"})
    assert response.status_code == 201, response.text
    note = response.json()
    assert note["visibility"] == "public"
    assert note["authors"] == [{"id": alice.id, "name": "Alice Rivard"}]
    response = await anonymous.get(f"/api/notes/{note['id']}")
    assert response.status_code == 200, response.text
    response = await anonymous.get(f"/api/carnets/{carnet_id}/notes")
    assert response.json()["total"] == 1
