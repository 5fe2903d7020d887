from __future__ import annotations

import pycrdt

from tests.support import People, RunningServer
from tests.sync.client import YClient


async def test_two_editors_converge_and_get_saved(server: RunningServer, people: People) -> None:
    alice = await people.new("Alice")
    _, note_id = await people.note(alice)
    url = f"{server.ws_url}/ws/notes/{note_id}"
    auth = {"authorization": f"Bearer {alice.token}"}
    one = await YClient(url, headers=auth).connect()
    two = await YClient(url, headers=auth).connect()
    await one.synced.wait()
    await two.synced.wait()
    text = one.doc.get("t", type=pycrdt.Text)
    text += "bonjour"
    await two.wait_for(lambda: str(two.doc.get("t", type=pycrdt.Text)) == "bonjour")
    await one.wait_for(lambda: one.saved_count == one.sent_updates)
    await one.close()
    await two.close()
    fresh = await YClient(url, headers=auth).connect()
    await fresh.synced.wait()
    assert str(fresh.doc.get("t", type=pycrdt.Text)) == "bonjour"
    await fresh.close()
