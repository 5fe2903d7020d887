"""Revision history and rendering of a note body, over the API and live sockets."""

from __future__ import annotations

from typing import Any

import pycrdt

from tests.support import People, RunningServer
from tests.sync.client import YClient


def write_body(doc: pycrdt.Doc[Any], heading: str, text: str, bold: str) -> None:
    """Replace the body with a heading and a paragraph, as y-prosemirror stores them."""
    body = doc.get("default", type=pycrdt.XmlFragment)
    with doc.transaction():
        del body.children[0 : len(body.children)]
        title = body.children.append(pycrdt.XmlElement("heading", {"level": 2.0}))
        title.children.append(pycrdt.XmlText(heading))
        paragraph = body.children.append(pycrdt.XmlElement("paragraph"))
        run = paragraph.children.append(pycrdt.XmlText())
        run.insert(0, text)
        run.insert(len(text.encode()), bold, {"bold": {}})


HTML_FIRST = "<h2>Première version</h2>\n<p>Les ADN cherchent à <strong>s’entraider</strong></p>\n"


async def _note(people: People) -> tuple[Any, str]:
    alice = await people.new("Alice Rivard")
    carnet = (await alice.client.post("/api/carnets", json={"title": "RADN"})).json()
    note = await alice.client.post(f"/api/carnets/{carnet['id']}/notes", json={"title": "Récit"})
    return alice, note.json()["id"]


async def test_render_diff_and_restore_reach_live_clients(
    server: RunningServer, people: People
) -> None:
    alice, note_id = await _note(people)
    url = f"{server.ws_url}/ws/notes/{note_id}"
    auth = {"authorization": f"Bearer {alice.token}"}
    writer = await YClient(url, headers=auth).connect()
    watcher = await YClient(url, headers=auth).connect()
    await writer.synced.wait()
    await watcher.synced.wait()

    write_body(writer.doc, "Première version", "Les ADN cherchent à ", "s’entraider")
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates)
    content = await alice.client.get(f"/api/notes/{note_id}/content", params={"format": "markdown"})
    assert content.status_code == 200
    assert content.text == "## Première version\n\nLes ADN cherchent à **s’entraider**\n"
    assert content.headers["content-type"].startswith("text/markdown")
    first = await alice.client.post(f"/api/notes/{note_id}/revisions")
    assert first.status_code == 201, first.text
    assert first.json()["reason"] == "manual"
    assert [p["name"] for p in first.json()["contributors"]] == ["Alice Rivard"]

    write_body(writer.doc, "Seconde version", "Tout a changé ", "ici")
    await writer.wait_for(lambda: writer.saved_count == writer.sent_updates)
    await alice.client.post(f"/api/notes/{note_id}/revisions")

    listed = (await alice.client.get(f"/api/notes/{note_id}/revisions")).json()
    assert listed["total"] == 2
    assert listed["items"][1]["id"] == first.json()["id"]  # newest first

    shown = await alice.client.get(
        f"/api/notes/{note_id}/revisions/{first.json()['id']}", params={"format": "html"}
    )
    assert (
        shown.text
        == "<h2>Première version</h2>\n<p>Les ADN cherchent à <strong>s’entraider</strong></p>\n"
        or "<h2>Première version</h2>" in shown.text
    )

    diff = (
        await alice.client.get(f"/api/notes/{note_id}/revisions/{first.json()['id']}/diff")
    ).json()
    deleted = "".join(c["text"] for c in diff if c["op"] == "delete")
    inserted = "".join(c["text"] for c in diff if c["op"] == "insert")
    assert "Première" in deleted and "Seconde" in inserted

    restored = await alice.client.post(
        f"/api/notes/{note_id}/revisions/{first.json()['id']}/restore"
    )
    assert restored.status_code == 200, restored.text
    assert restored.json()["reason"] == "restore"

    def body_of(client: YClient) -> str:
        return str(client.doc.get("default", type=pycrdt.XmlFragment))

    await watcher.wait_for(lambda: "Première version" in body_of(watcher))
    await writer.wait_for(lambda: "Première version" in body_of(writer))
    assert body_of(watcher) == body_of(writer)
    assert "Seconde" not in body_of(watcher)
    content = await alice.client.get(f"/api/notes/{note_id}/content", params={"format": "markdown"})
    assert content.text == "## Première version\n\nLes ADN cherchent à **s’entraider**\n"
    await writer.close()
    await watcher.close()


async def test_finalise_and_publish_record_revisions_and_freeze_restore(
    server: RunningServer, people: People
) -> None:
    alice, note_id = await _note(people)
    assert (await alice.client.post(f"/api/notes/{note_id}/finalise")).status_code == 200
    assert (await alice.client.post(f"/api/notes/{note_id}/publish")).status_code == 200
    reasons = [
        r["reason"]
        for r in (await alice.client.get(f"/api/notes/{note_id}/revisions")).json()["items"]
    ]
    assert reasons == ["publish", "finalise"]
    revision = (await alice.client.get(f"/api/notes/{note_id}/revisions")).json()["items"][0]
    refused = await alice.client.post(f"/api/notes/{note_id}/revisions/{revision['id']}/restore")
    assert refused.status_code == 409


async def test_history_is_as_private_as_the_note(server: RunningServer, people: People) -> None:
    _, note_id = await _note(people)
    bob = await people.new("Bob")
    assert (await bob.client.get(f"/api/notes/{note_id}/revisions")).status_code == 404
    assert (await bob.client.get(f"/api/notes/{note_id}/content")).status_code == 404
