"""The published note page ``/n/{note_id}``: server-rendered, readable without JavaScript;
published versus draft; republish; unpublish (410); private notes never leak (404)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import httpx

from tests.public.helpers import import_note, public_carnet, publish, type_paragraph
from tests.support import People, RunningServer


class Page(HTMLParser):
    """What a browser without JavaScript gets: the text, the meta tags, the scripts."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.meta: dict[str, list[str]] = {}
        self.scripts: list[dict[str, str | None]] = []
        self.json_ld: list[Any] = []
        self.links: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []
        self._in: list[str] = []
        self._script: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.inline_handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "meta":
            key = values.get("property") or values.get("name")
            if key:
                self.meta.setdefault(key, []).append(values.get("content") or "")
        elif tag == "script":
            self.scripts.append(values)
            self._script = []
        elif tag in ("a", "link"):
            self.links.append(values)
        elif tag == "form":
            self.forms.append(values)
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if (
            tag == "script"
            and self.scripts
            and self.scripts[-1].get("type") == "application/ld+json"
        ):
            self.json_ld.append(json.loads("".join(self._script)))
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "script":
            self._script.append(data)
        elif data.strip():
            self.text.append(" ".join(data.split()))

    @property
    def visible(self) -> str:
        return " ".join(self.text)


async def page(
    client: httpx.AsyncClient, note_id: str, **headers: str
) -> tuple[httpx.Response, Page]:
    response = await client.get(f"/n/{note_id}", headers=headers)
    assert response.headers["content-type"].startswith("text/html")
    return response, Page(response.text)


BODY = "## Ce qui me marque\n\nLes ADN forment une **communauté de pratique** unique.\n"


async def test_published_page_without_javascript(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    maryse = await people.new("Maryse Gervais")
    carnet = await public_carnet(alice, title="12e édition des Rencontres", categories=["Récit"])
    term = await import_note(
        alice, carnet["id"], "Définition.\n", title="Communauté de pratique", type="term"
    )
    note = await import_note(
        alice, carnet["id"], BODY, title="Merci de nous aider à vous aider <3", category="Récit"
    )
    await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": maryse.id})
    await alice.client.post(
        f"/api/notes/{note['id']}/links", json={"target_id": term["id"], "kind": "term"}
    )
    await publish(alice, term["id"])
    published = await publish(alice, note["id"])
    year = published["published_at"][:4]

    response, html = await page(anonymous, note["id"])
    assert response.status_code == 200
    text = html.visible
    assert "Merci de nous aider à vous aider <3" in text  # escaped in the HTML, shown as is
    assert "&lt;3" in response.text
    assert "Alice Rivard" in text and "Maryse Gervais" in text
    assert "Ce qui me marque" in text and "communauté de pratique unique" in text
    assert "<strong>communauté de pratique</strong>" in response.text
    # The carnet, its category and who added the note when.
    assert "12e édition des Rencontres" in text
    assert re.search(r"Intégré par Alice Rivard, le \d{1,2}(er)? \w+ \d{4} à \d{1,2} h \d{2}", text)
    assert "Catégorie : Récit" in text
    assert "Communauté de pratique" in text and "Terme(s) relié(s)" in text
    assert "CC BY 4.0" in text
    # The citation block, with the year in parentheses, and its copy button.
    assert "Pour citer cette note" in text
    citation = re.search(r"Alice Rivard, Maryse Gervais\. \((\d{4})\)\. Merci de nous aider", text)
    assert citation and citation.group(1) == year
    assert "Carnet (consulté le " in text and f"/n/{note['id']}" in text
    copy = re.search(
        r'<button type="button" class="copy" data-copy="citation"[^>]*>([^<]*)<', response.text
    )
    assert copy and copy.group(1) == "Copier"
    assert any(link.get("href") == f"{server.base_url}/n/{note['id']}" for link in html.links)
    # Only an external script; nothing inline runs.
    runnable = [s for s in html.scripts if s.get("type") != "application/ld+json"]
    assert runnable == [{"src": "/public-static/citation.js", "defer": None}]
    assert not html.inline_handlers
    js = await anonymous.get("/public-static/citation.js")
    assert js.status_code == 200 and "navigator.clipboard" in js.text
    css = await anonymous.get("/public-static/public.css")
    assert css.status_code == 200
    # OpenGraph and JSON-LD.
    assert html.meta["og:title"] == ["Merci de nous aider à vous aider <3"]
    assert html.meta["og:type"] == ["article"]
    assert html.meta["og:url"] == [f"{server.base_url}/n/{note['id']}"]
    assert "communauté de pratique" in html.meta["og:description"][0]
    assert html.meta["article:author"] == ["Alice Rivard", "Maryse Gervais"]
    (ld,) = html.json_ld
    assert ld["@type"] == "ScholarlyArticle"
    assert ld["name"] == "Merci de nous aider à vous aider <3"
    assert [a["name"] for a in ld["author"]] == ["Alice Rivard", "Maryse Gervais"]
    assert ld["datePublished"].startswith(year)
    assert ld["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert ld["isPartOf"][0]["name"] == "12e édition des Rencontres"
    assert "<" not in response.text.split('application/ld+json">', 1)[1].split("</script>")[0]
    # The term's page shows the backlink; its JSON-LD is a CreativeWork.
    _, term_page = await page(anonymous, term["id"])
    assert (
        "Merci de nous aider" in term_page.visible
        and "Cette note est citée par" in term_page.visible
    )
    assert term_page.json_ld[0]["@type"] == "CreativeWork"
    # English on request.
    _, english = await page(anonymous, note["id"], **{"accept-language": "en"})
    assert "How to cite this note" in english.visible
    assert re.search(
        r"Added by Alice Rivard on \w+ \d{1,2}, \d{4} at \d{1,2}:\d{2} [AP]M", english.visible
    )
    assert "(accessed " in english.visible


async def test_published_version_versus_draft(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    bob = await people.new("Bob Gagnon")
    carnet = await public_carnet(alice)
    note = await import_note(
        alice, carnet["id"], "Première version publiée.\n", title="Titre publié"
    )
    _, html = await page(anonymous, note["id"])
    assert "Titre publié" not in html.visible  # never published: not found
    first = await publish(alice, note["id"])

    await alice.client.post(f"/api/notes/{note['id']}/reopen")
    await alice.client.patch(f"/api/notes/{note['id']}", json={"title": "Titre en cours"})
    await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": bob.id})
    await type_paragraph(server, alice, note["id"], "Paragraphe du brouillon.")
    live = await alice.client.get(f"/api/notes/{note['id']}/content", params={"format": "text"})
    assert "Paragraphe du brouillon." in live.text

    # The page still serves the published revision and its frozen metadata.
    response, html = await page(anonymous, note["id"])
    assert response.status_code == 200
    assert "Première version publiée." in html.visible
    assert "Paragraphe du brouillon." not in response.text
    assert "Titre publié" in html.visible and "Titre en cours" not in response.text
    assert "Bob Gagnon" not in response.text
    # Its authors are told a new version is being written.
    _, own = await page(alice.client, note["id"])
    assert "Une nouvelle version est en cours d’écriture" in own.visible
    assert "Ouvrir dans l’éditeur" in own.visible

    # Republishing replaces the published version (and keeps the first date).
    again = await publish(alice, note["id"])
    response, html = await page(anonymous, note["id"])
    assert "Paragraphe du brouillon." in html.visible and "Titre en cours" in html.visible
    assert "Bob Gagnon" in html.visible
    assert "Historique des modifications" in html.visible and "Version 2" in html.visible
    info = (await anonymous.get(f"/api/notes/{note['id']}/publication")).json()
    assert info["version"] == 2 and info["current"] is True
    assert info["first_published_at"] == first["published_at"]
    assert info["published_at"] == again["published_at"]

    # Unpublishing withdraws it: 410 Gone, for anonymous readers and members alike.
    await alice.client.post(f"/api/notes/{note['id']}/unpublish")
    response, html = await page(anonymous, note["id"])
    assert response.status_code == 410
    assert "Note retirée" in html.visible and "Paragraphe" not in response.text
    response, _ = await page(alice.client, note["id"])
    assert response.status_code == 410
    gone = await anonymous.get(f"/api/notes/{note['id']}/export", params={"version": "published"})
    assert gone.status_code == 410


async def test_private_and_unpublished_notes_never_leak(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    outsider = await people.new("Externe")
    carnet = await public_carnet(alice)
    private_carnet = await public_carnet(alice, visibility="private")
    private_note = await import_note(
        alice, carnet["id"], "Texte confidentiel.\n", title="Confidentiel"
    )
    await alice.client.patch(f"/api/notes/{private_note['id']}", json={"visibility": "private"})
    in_private = await import_note(alice, private_carnet["id"], "Texte caché.\n", title="Caché")
    await publish(alice, private_note["id"])
    await publish(alice, in_private["id"])
    for client in (anonymous, outsider.client):
        for note in (private_note, in_private):
            response, html = await page(client, note["id"])
            assert response.status_code == 404
            assert note["title"] not in response.text and "Texte" not in response.text
            assert "Note introuvable" in html.visible
    unknown, _ = await page(anonymous, "doesNotExist")
    assert unknown.status_code == 404
    # Members may read it (the page says it is private).
    response, html = await page(alice.client, private_note["id"])
    assert response.status_code == 200 and "Texte confidentiel." in html.visible
    assert "privé" in html.visible
    # Withdrawn, then made private: a 404, not a 410, for outsiders.
    await alice.client.post(f"/api/notes/{in_private['id']}/unpublish")
    response, _ = await page(anonymous, in_private["id"])
    assert response.status_code == 404


async def test_withdrawing_a_reopened_note(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    reader = await people.new("Lectrice")
    carnet = await public_carnet(alice)
    note = await import_note(alice, carnet["id"], "Texte publié.\n")
    await publish(alice, note["id"])
    await alice.client.post(f"/api/notes/{note['id']}/reopen")
    assert (await anonymous.get(f"/n/{note['id']}")).status_code == 200
    refused = await reader.client.delete(f"/api/notes/{note['id']}/publication")
    assert refused.status_code == 403
    response = await alice.client.delete(f"/api/notes/{note['id']}/publication")
    assert response.status_code == 204, response.text
    assert (await anonymous.get(f"/n/{note['id']}")).status_code == 410
    state = (await alice.client.get(f"/api/notes/{note['id']}")).json()
    assert state["status"] == "draft"  # still being rewritten
    again = await alice.client.delete(f"/api/notes/{note['id']}/publication")
    assert again.status_code == 404
