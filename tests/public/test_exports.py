"""Exports of notes and carnets, and importing Markdown as a new note."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import httpx
import pycrdt
import yaml

from carnet.public.importer import markdown_to_doc, parse_markdown, split_front_matter
from carnet.render import render
from tests.public.helpers import import_note, public_carnet, publish
from tests.support import People, assert_error
from tests.test_render import RICH, build_doc

BODY = """\
# Compte rendu de l’événement

Le **cercle** sur les *données* a présenté ~~trois~~ quatre pistes, voir \
[le sondage](https://example.org/sondage?a=1&b=2) et `code_inline`.\\
Ligne suivante : 2 * 3 = 6 [sic] _x_ <b>

## Ordre du jour

3. Accueil
4. Ateliers
   - Atelier A
   - Atelier B

> « Merci de nous aider à vous aider »

```python
print("é")
```

---

Fin 🎉 **ok**
"""


def front(markdown: str) -> tuple[dict[str, Any], str]:
    assert markdown.startswith("---\n")
    head, _, body = markdown[4:].partition("\n---\n")
    meta: dict[str, Any] = yaml.safe_load(head)
    return meta, body.lstrip("\n")


def test_markdown_to_document_as_y_prosemirror_stores_it() -> None:
    doc = markdown_to_doc("## Titre\n\nUn **gras** et [lien](https://a.example/é).\n\n4. x\n")
    fragment = doc.get("default", type=pycrdt.XmlFragment)
    heading, paragraph, ordered = list(fragment.children)
    assert isinstance(heading, pycrdt.XmlElement) and heading.tag == "heading"
    assert heading.attributes["level"] == 2.0
    assert ordered.tag == "orderedList" and ordered.attributes["start"] == 4.0
    text = next(iter(paragraph.children))
    chunks = [(chunk, attrs) for chunk, attrs in text.diff()]
    assert chunks[0] == ("Un ", None)
    assert chunks[1] == ("gras", {"bold": {}})
    assert chunks[3][1]["link"]["href"] == "https://a.example/%C3%A9"
    # Offsets count UTF-8 bytes: text after a multibyte character is still in order.
    accented = markdown_to_doc("é **b** c\n").get("default", type=pycrdt.XmlFragment)
    assert render(accented.doc, "markdown") == "é **b** c\n"


def test_golden_document_round_trips_through_markdown() -> None:
    doc = build_doc(RICH)
    markdown = render(doc, "markdown")
    back = markdown_to_doc(markdown)
    assert render(back, "markdown") == markdown
    assert render(back, "text") == render(doc, "text")


def test_front_matter_is_read() -> None:
    meta, body = split_front_matter(
        '---\ntitle: "Un \\"titre\\" : ok"\ntype: term\nx: [1]\n---\n\nCorps\n'
    )
    assert meta == {"title": 'Un "titre" : ok', "type": "term", "x": "[1]"}
    assert body == "\nCorps\n"
    assert split_front_matter("Pas de front matter\n") == ({}, "Pas de front matter\n")


def test_unsafe_links_are_not_imported() -> None:
    blocks = parse_markdown("[x](javascript:alert(1)) <a href='javascript:x'>y</a>\n")
    doc = markdown_to_doc("[x](javascript:alert(1))\n")
    assert "href" not in render(doc, "html")  # kept as text, never as a link
    assert blocks  # kept as text


async def test_note_export_round_trip(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    bob = await people.new("Maryse Gervais")
    carnet = await public_carnet(alice, categories=["Récit", "Synthèse"])
    note = await import_note(
        alice, carnet["id"], BODY, title="Récit : « données » & {suite}", category="Récit"
    )
    await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": bob.id})
    term = await import_note(alice, carnet["id"], "Définition.\n", title="Données ouvertes")
    response = await alice.client.post(
        f"/api/notes/{note['id']}/links", json={"target_id": term["id"], "kind": "term"}
    )
    assert response.status_code == 201, response.text

    exported = await alice.client.get(
        f"/api/notes/{note['id']}/export", params={"format": "markdown"}
    )
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("text/markdown")
    assert "attachment" in exported.headers["content-disposition"]
    meta, body = front(exported.text)
    assert meta["title"] == "Récit : « données » & {suite}"
    assert meta["authors"] == ["Alice Rivard", "Maryse Gervais"]
    assert meta["carnets"][0]["title"] == carnet["title"]
    assert meta["carnets"][0]["category"] == "Récit"
    assert meta["categories"] == ["Récit"]
    assert meta["licence"] == "CC-BY-4.0"
    assert meta["links"][0]["title"] == "Données ouvertes" and meta["links"][0]["kind"] == "term"
    assert meta["url"].endswith(f"/n/{note['id']}")
    assert meta["published"] is None and meta["version"] == "live"
    live = await alice.client.get(f"/api/notes/{note['id']}/content", params={"format": "markdown"})
    assert body == live.text

    # Export, import the file as a new note, export again: the same text.
    files = {"file": ("recit.md", exported.content, "text/markdown")}
    imported = await alice.client.post(f"/api/carnets/{carnet['id']}/import", files=files)
    assert imported.status_code == 201, imported.text
    copy = imported.json()
    assert copy["title"] == "Récit : « données » & {suite}"
    assert copy["status"] == "draft" and copy["authors"] == [
        {"id": alice.id, "name": "Alice Rivard"}
    ]
    again = await alice.client.get(f"/api/notes/{copy['id']}/export", params={"format": "markdown"})
    assert front(again.text)[1] == body
    for fmt in ("text", "html"):
        one = await alice.client.get(f"/api/notes/{note['id']}/content", params={"format": fmt})
        two = await alice.client.get(f"/api/notes/{copy['id']}/content", params={"format": fmt})
        assert one.text == two.text

    # Plain Markdown body (no front matter): the first heading is the title.
    raw = await alice.client.post(
        f"/api/carnets/{carnet['id']}/import",
        content="# Un titre trouvé\n\nTexte.\n".encode(),
        headers={"content-type": "text/markdown"},
    )
    assert raw.status_code == 201 and raw.json()["title"] == "Un titre trouvé"

    # Standalone HTML and text.
    html = await alice.client.get(f"/api/notes/{note['id']}/export", params={"format": "html"})
    assert html.headers["content-type"].startswith("text/html")
    assert html.text.startswith("<!doctype html>")
    assert "<h1>Récit : « données » &amp; {suite}</h1>" in html.text
    assert "<strong>cercle</strong>" in html.text and "<script" not in html.text
    text = await alice.client.get(f"/api/notes/{note['id']}/export", params={"format": "text"})
    assert text.text.startswith("Récit : « données » & {suite}\n")
    assert "Le cercle sur les données" in text.text

    # Readers outside the note get the published version, once there is one.
    response = await anonymous.get(
        f"/api/notes/{note['id']}/export", params={"version": "published"}
    )
    assert_error(response, 404)
    await publish(alice, note["id"])
    public = await anonymous.get(f"/api/notes/{note['id']}/export")
    meta, _ = front(public.text)
    assert meta["version"] == "published" and meta["status"] == "published"
    assert meta["published"] is not None


async def test_import_permissions_and_errors(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new()
    outsider = await people.new()
    carnet = await public_carnet(alice)
    response = await anonymous.post(f"/api/carnets/{carnet['id']}/import", json={"markdown": "x"})
    assert_error(response, 401)
    response = await outsider.client.post(
        f"/api/carnets/{carnet['id']}/import", json={"markdown": "x"}
    )
    assert_error(response, 403)
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/import",
        content=b"\xff\xfe binaire",
        headers={"content-type": "text/markdown"},
    )
    assert_error(response, 400, "not_utf8")
    response = await alice.client.post(
        f"/api/carnets/{carnet['id']}/import", json={"markdown": "x", "category": "Inconnue"}
    )
    # Carnets without categories accept any; with some, only those.
    assert response.status_code == 201


async def test_carnet_exports(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await public_carnet(
        alice, title="RADN 2025 : « bilan »", description="Douzième édition."
    )
    one = await import_note(alice, carnet["id"], "Premier **texte**.\n", title="Première note")
    await import_note(alice, carnet["id"], "Deuxième texte.\n", title="Deuxième note")
    secret = await import_note(
        alice,
        carnet["id"],
        "Caché.\n",
        title="Note privée",
    )
    await alice.client.patch(f"/api/notes/{secret['id']}", json={"visibility": "private"})
    await publish(alice, one["id"])

    response = await alice.client.get(
        f"/api/carnets/{carnet['id']}/export", params={"format": "zip"}
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == [
        "index.md",
        "notes/001-premiere-note.md",
        "notes/002-deuxieme-note.md",
        "notes/003-note-privee.md",
    ]
    index = archive.read("index.md").decode()
    meta, rest = front(index)
    assert meta["title"] == "RADN 2025 : « bilan »"
    assert "1. [Première note](notes/001-premiere-note.md) — Alice Rivard" in rest
    note_meta, note_body = front(archive.read("notes/001-premiere-note.md").decode())
    assert note_meta["title"] == "Première note" and note_body == "Premier **texte**.\n"

    # Anonymous readers: published versions of the notes they may read, only.
    response = await anonymous.get(f"/api/carnets/{carnet['id']}/export", params={"format": "zip"})
    public_names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sorted(public_names) == ["index.md", "notes/001-premiere-note.md"]

    book = await anonymous.get(f"/api/carnets/{carnet['id']}/export", params={"format": "html"})
    assert book.status_code == 200 and book.text.startswith("<!doctype html>")
    assert "<h1>RADN 2025 : « bilan »</h1>" in book.text
    assert "Première note" in book.text and "<strong>texte</strong>" in book.text
    assert "Deuxième note" not in book.text and "Caché" not in book.text
    assert "Pour citer cette note" in book.text

    data = (
        await alice.client.get(f"/api/carnets/{carnet['id']}/export", params={"format": "json"})
    ).json()
    assert data["carnet"]["title"] == "RADN 2025 : « bilan »"
    assert [n["title"] for n in data["notes"]] == ["Première note", "Deuxième note", "Note privée"]
    assert data["notes"][0]["markdown"] == "Premier **texte**.\n"
    assert data["notes"][0]["html"] == "<p>Premier <strong>texte</strong>.</p>\n"
    public_data = (
        await anonymous.get(f"/api/carnets/{carnet['id']}/export", params={"format": "json"})
    ).json()
    assert [n["id"] for n in public_data["notes"]] == [one["id"]]
    assert json.dumps(public_data).count("Caché") == 0

    private = await public_carnet(alice, visibility="private")
    response = await anonymous.get(f"/api/carnets/{private['id']}/export", params={"format": "zip"})
    assert_error(response, 404)
