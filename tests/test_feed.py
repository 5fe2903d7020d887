from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from tests.support import People, RunningServer
from tests.sync.client import YClient


async def _next(ws: Any, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message


async def test_public_carnet_grows_live_for_anonymous_readers(
    server: RunningServer, people: People
) -> None:
    alice = await people.new("Alice Rivard")
    carnet = (
        await alice.client.post("/api/carnets", json={"title": "RADN", "visibility": "public"})
    ).json()
    async with websockets.connect(f"{server.ws_url}/ws/carnets/{carnet['id']}") as feed:
        created = await alice.client.post(
            f"/api/carnets/{carnet['id']}/notes", json={"title": "Récit de l’après-midi"}
        )
        note_id = created.json()["id"]
        message = await _next(feed, "note")
        assert message["action"] == "created"
        assert message["note"]["title"] == "Récit de l’après-midi"

        await alice.client.patch(f"/api/notes/{note_id}", json={"title": "Récit"})
        message = await _next(feed, "note")
        assert (message["action"], message["note"]["title"]) == ("updated", "Récit")

        editor = await YClient(
            f"{server.ws_url}/ws/notes/{note_id}",
            headers={"authorization": f"Bearer {alice.token}"},
        ).connect()
        presence = await _next(feed, "presence")
        assert presence["editors"] == ["Alice Rivard"]
        await editor.close()

        private = await alice.client.post(
            f"/api/carnets/{carnet['id']}/notes", json={"title": "Secret", "visibility": "private"}
        )
        assert private.status_code == 201
        await alice.client.post(f"/api/notes/{note_id}/finalise")
        message = await _next(feed, "note")
        # The private note was never announced to an anonymous reader.
        assert (message["note"]["id"], message["note"]["status"]) == (note_id, "finalised")


async def test_private_carnet_feed_is_closed_to_outsiders(
    server: RunningServer, people: People
) -> None:
    alice = await people.new()
    carnet = (
        await alice.client.post("/api/carnets", json={"title": "Privé", "visibility": "private"})
    ).json()
    async with websockets.connect(f"{server.ws_url}/ws/carnets/{carnet['id']}") as feed:
        try:
            await asyncio.wait_for(feed.recv(), 5)
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4404
        else:
            raise AssertionError("the feed should have been closed")
