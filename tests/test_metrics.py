from __future__ import annotations

import httpx
import pycrdt

from tests.support import People, RunningServer
from tests.sync.client import YClient


async def test_metrics_count_rooms_connections_and_saves(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new()
    _, note_id = await people.note(alice)
    client = await YClient(
        f"{server.ws_url}/ws/notes/{note_id}", headers={"authorization": f"Bearer {alice.token}"}
    ).connect()
    await client.synced.wait()
    client.doc.get("t", type=pycrdt.Text).insert(0, "x")
    await client.wait_for(lambda: client.saved_count == 1)
    response = await anonymous.get("/metrics")
    assert response.status_code == 200
    lines = dict(
        line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#")
    )
    assert int(lines['carnet_connections{role="editor"}']) >= 1
    assert int(lines["carnet_open_rooms"]) >= 1
    assert int(lines["carnet_updates_saved_total"]) >= 1
    assert int(lines['carnet_save_seconds_bucket{le="+Inf"}']) >= 1
    assert response.headers["x-request-id"]
    await client.close()
