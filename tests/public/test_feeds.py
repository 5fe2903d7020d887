"""Atom feeds, parsed by a real feed parser; sitemap.xml and robots.txt."""

from __future__ import annotations

from xml.etree import ElementTree

import feedparser
import httpx

from tests.public.helpers import import_note, public_carnet, publish
from tests.support import People, RunningServer, assert_error


def parse(response: httpx.Response) -> feedparser.FeedParserDict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    return feed


async def test_carnet_site_author_and_term_feeds(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    bob = await people.new("Frédéric Cordier")
    carnet = await public_carnet(alice, title="RADN : « feeds » & co", categories=["Récit"])
    term = await import_note(
        alice, carnet["id"], "Un terme.\n", title="Savoirs ouverts", type="term"
    )
    await alice.client.patch(f"/api/notes/{term['id']}", json={"type": "term"})
    first = await import_note(
        alice,
        carnet["id"],
        "Le **premier** <texte> & suite.\n",
        title="Première « note »",
        category="Récit",
    )
    await alice.client.post(f"/api/notes/{first['id']}/authors", json={"user_id": bob.id})
    await alice.client.post(
        f"/api/notes/{first['id']}/links", json={"target_id": term["id"], "kind": "term"}
    )
    draft = await import_note(alice, carnet["id"], "Brouillon.\n", title="Pas publiée")
    withdrawn = await import_note(alice, carnet["id"], "Retirée.\n", title="Retirée")
    await publish(alice, first["id"])
    await publish(alice, withdrawn["id"])
    await alice.client.post(f"/api/notes/{withdrawn['id']}/unpublish")

    feed = parse(await anonymous.get(f"/carnets/{carnet['id']}/feed.atom"))
    assert feed.feed.title == "RADN : « feeds » & co"
    assert feed.feed.link.endswith(f"/carnets/{carnet['id']}")
    assert [entry.title for entry in feed.entries] == ["Première « note »"]
    entry = feed.entries[0]
    assert entry.link == f"{server.base_url}/n/{first['id']}"
    assert entry.id == entry.link
    assert [author.name for author in entry.authors] == ["Alice Rivard", "Frédéric Cordier"]
    assert "<strong>premier</strong> &lt;texte&gt; &amp; suite" in entry.content[0].value
    assert [tag.term for tag in entry.tags] == ["Récit"]
    assert entry.published_parsed is not None and entry.updated_parsed is not None

    site = parse(await anonymous.get("/feed.atom"))
    assert first["id"] in {e.link.rsplit("/", 1)[-1] for e in site.entries}
    assert draft["id"] not in {e.link.rsplit("/", 1)[-1] for e in site.entries}

    by_bob = parse(await anonymous.get(f"/authors/{bob.id}/feed.atom"))
    assert "Frédéric Cordier" in by_bob.feed.title
    assert [e.title for e in by_bob.entries] == ["Première « note »"]

    by_term = parse(await anonymous.get(f"/terms/{term['id']}/feed.atom"))
    assert "Savoirs ouverts" in by_term.feed.title
    assert [e.title for e in by_term.entries] == ["Première « note »"]
    not_a_term = await anonymous.get(f"/terms/{first['id']}/feed.atom")
    assert_error(not_a_term, 404)


async def test_private_carnet_feed_is_not_found(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new()
    carnet = await public_carnet(alice, visibility="private")
    note = await import_note(alice, carnet["id"], "Privé.\n")
    await publish(alice, note["id"])
    assert_error(await anonymous.get(f"/carnets/{carnet['id']}/feed.atom"), 404)
    # Its member, with a token, may follow it.
    mine = parse(await alice.client.get(f"/carnets/{carnet['id']}/feed.atom"))
    assert [e.link.rsplit("/", 1)[-1] for e in mine.entries] == [note["id"]]
    site = parse(await anonymous.get("/feed.atom"))
    assert note["id"] not in {e.link.rsplit("/", 1)[-1] for e in site.entries}
    assert_error(await anonymous.get(f"/authors/{alice.id}/feed.atom"), 404)


async def test_sitemap_and_robots(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new()
    carnet = await public_carnet(alice)
    published = await import_note(alice, carnet["id"], "Publique.\n")
    draft = await import_note(alice, carnet["id"], "Brouillon.\n")
    private = await import_note(alice, carnet["id"], "Privée.\n")
    await alice.client.patch(f"/api/notes/{private['id']}", json={"visibility": "private"})
    await publish(alice, published["id"])
    await publish(alice, private["id"])

    response = await anonymous.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    root = ElementTree.fromstring(response.content)
    locations = {loc.text for loc in root.findall("s:url/s:loc", ns)}
    assert f"{server.base_url}/n/{published['id']}" in locations
    assert f"{server.base_url}/n/{draft['id']}" not in locations
    assert f"{server.base_url}/n/{private['id']}" not in locations
    assert f"{server.base_url}/carnets/{carnet['id']}" in locations
    assert all(url.find("s:lastmod", ns) is not None for url in root.findall("s:url", ns)[1:])

    robots = await anonymous.get("/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    assert "Disallow: /api/" in robots.text
    assert f"Sitemap: {server.base_url}/sitemap.xml" in robots.text
