"""Search: accents, typos, ranking, snippets, filters, pagination, visibility, live edits."""

from __future__ import annotations

import asyncpg
import httpx

from carnet.public.snippets import fuzzy_snippet, marked_to_html
from carnet.storage.search import MARK_START, MARK_STOP
from tests.public.helpers import (
    eventually,
    ids,
    import_note,
    public_carnet,
    publish,
    search,
    type_paragraph,
)
from tests.support import People, RunningServer, add_member


async def indexed(client: httpx.AsyncClient, note_id: str, **params: object) -> None:
    """Wait until the background indexer has the note (it runs every second)."""

    async def found() -> bool:
        return note_id in ids(await search(client, **params))

    await eventually(found)


async def test_accents_typos_ranking_and_snippets(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await public_carnet(alice, title="Rencontres nationales")
    titled = await import_note(
        alice, carnet["id"], "Un texte sans le mot.\n", title="Un événement mémorable"
    )
    body = await import_note(
        alice,
        carnet["id"],
        "Pendant l’**événement**, nous avons parlé de gouvernance <script>alert(1)</script>.\n",
        title="Compte rendu",
    )
    english = await import_note(
        alice, carnet["id"], "The gatherings were inspiring for communities.\n", title="Summary"
    )
    for note in (titled, body, english):
        await publish(alice, note["id"])

    found = await search(anonymous, q="evenement")
    assert found["mode"] == "fulltext"
    # Both match without accents; the title match ranks first.
    assert ids(found)[:2] == [titled["id"], body["id"]]
    first, second = found["results"][:2]
    assert first["title_html"] == "Un <mark>événement</mark> mémorable"
    assert "<mark>événement</mark>" in second["snippet_html"]
    assert "<script" not in second["snippet_html"] + second["title_html"]
    assert second["url"].endswith(f"/n/{body['id']}") and second["version"] == "published"

    # French stemming (and English: "gathering" finds "gatherings").
    assert body["id"] in ids(await search(anonymous, q="gouvernances"))
    assert english["id"] in ids(await search(anonymous, q="gathering community"))
    # Metadata: the carnet's title and the authors' names are searched too.
    assert set(ids(await search(anonymous, q="Rivard rencontres"))) >= {titled["id"], body["id"]}

    # A typo falls back to trigram similarity, with its own highlighting.
    typo = await search(anonymous, q="evenemnt")
    assert typo["mode"] == "fuzzy"
    assert set(ids(typo)) >= {titled["id"], body["id"]}
    assert "<mark>" in typo["results"][0]["title_html"] + typo["results"][0]["snippet_html"]
    assert (await search(anonymous, q="gouvernnance"))["results"][0]["id"] == body["id"]
    nothing = await search(anonymous, q="xylophone")
    assert nothing["total"] == 0 and nothing["results"] == []


def test_snippets_are_escaped_html() -> None:
    marked = f"a <b>&amp; {MARK_START}mot{MARK_STOP}\n\n b"
    assert marked_to_html(marked) == "a &lt;b&gt;&amp;amp; <mark>mot</mark> b"
    assert fuzzy_snippet("Un <événement> & co", ["evenemnt"]) == (
        "Un &lt;<mark>événement</mark>&gt; &amp; co"
    )


async def test_filters_and_pagination(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    bob = await people.new("Bob Gagnon")
    one = await public_carnet(alice, title="Carnet un", categories=["Récit", "Synthèse"])
    two = await public_carnet(bob, title="Carnet deux")
    notes = []
    for index in range(5):
        notes.append(
            await import_note(
                alice,
                one["id"],
                f"Atelier numéro {index} sur la mutualisation.\n",
                title=f"Atelier {index}",
                category="Récit" if index % 2 == 0 else "Synthèse",
            )
        )
    term = await import_note(
        bob, two["id"], "La mutualisation des outils.\n", title="Mutualisation", type="term"
    )
    for note in [*notes, term]:
        await publish(alice if note is not term else bob, note["id"])

    everything = await search(anonymous, q="mutualisation")
    assert everything["total"] == 6
    assert set(ids(await search(anonymous, q="mutualisation", carnet=two["id"]))) == {term["id"]}
    assert set(ids(await search(anonymous, q="mutualisation", type="term"))) == {term["id"]}
    assert set(ids(await search(anonymous, q="mutualisation", author=bob.id))) == {term["id"]}
    recits = await search(anonymous, q="mutualisation", carnet=one["id"], category="Récit")
    assert set(ids(recits)) == {notes[0]["id"], notes[2]["id"], notes[4]["id"]}
    assert (await search(anonymous, q="mutualisation", status="draft"))["total"] == 0
    assert (await search(anonymous, q="mutualisation", status="published"))["total"] == 6
    today = everything["results"][0]["published_at"][:10]
    dated = await search(
        anonymous, q="mutualisation", date="published", **{"from": today, "to": today}
    )
    assert dated["total"] == 6
    assert (
        await search(anonymous, q="mutualisation", **{"from": "2000-01-01", "to": "2000-12-31"})
    )["total"] == 0

    page_one = await search(anonymous, q="mutualisation", limit=4, offset=0)
    page_two = await search(anonymous, q="mutualisation", limit=4, offset=4)
    assert page_one["total"] == page_two["total"] == 6
    assert len(page_one["results"]) == 4 and len(page_two["results"]) == 2
    assert not set(ids(page_one)) & set(ids(page_two))
    past = await search(anonymous, q="mutualisation", limit=4, offset=40)
    assert past["total"] == 6 and past["results"] == []
    # No query: browse with the filters.
    browse = await search(anonymous, carnet=one["id"])
    assert browse["mode"] == "browse" and browse["total"] == 5
    bad = await anonymous.get("/api/search", params={"q": "x", "type": "poème"})
    assert bad.status_code == 400


async def test_visibility_rules(people: People, anonymous: httpx.AsyncClient) -> None:
    alice = await people.new("Alice Rivard")
    member = await people.new("Membre")
    outsider = await people.new("Externe")
    carnet = await public_carnet(alice)
    secret_carnet = await public_carnet(alice, visibility="private", title="Carnet secret")
    await add_member(alice.client, carnet["id"], member, "viewer")
    public_draft = await import_note(alice, carnet["id"], "Le mot pivoine, brouillon public.\n")
    published = await import_note(alice, carnet["id"], "Le mot pivoine, publié.\n")
    private_note = await import_note(alice, carnet["id"], "Le mot pivoine, privé.\n")
    await alice.client.patch(f"/api/notes/{private_note['id']}", json={"visibility": "private"})
    hidden = await import_note(alice, secret_carnet["id"], "Le mot pivoine, carnet privé.\n")
    await publish(alice, published["id"])
    await publish(alice, hidden["id"])

    # Anonymous readers and outsiders: published public notes only.
    assert ids(await search(anonymous, q="pivoine")) == [published["id"]]
    assert ids(await search(outsider.client, q="pivoine")) == [published["id"]]
    assert (await search(anonymous, q="pivoine", carnet=secret_carnet["id"]))["total"] == 0
    # Members also find the drafts they may open; the author everything.
    await indexed(member.client, private_note["id"], q="pivoine")
    assert set(ids(await search(member.client, q="pivoine"))) == {
        public_draft["id"],
        published["id"],
        private_note["id"],
    }
    await indexed(alice.client, hidden["id"], q="pivoine")
    assert set(ids(await search(alice.client, q="pivoine"))) == {
        public_draft["id"],
        published["id"],
        private_note["id"],
        hidden["id"],
    }
    drafts = await search(alice.client, q="pivoine", status="draft")
    assert set(ids(drafts)) == {public_draft["id"], private_note["id"]}
    assert all(r["version"] == "live" for r in drafts["results"])


async def test_index_follows_live_edits_and_published_text_stays(
    server: RunningServer, people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await public_carnet(alice)
    note = await import_note(alice, carnet["id"], "Version publiée : coquelicot.\n", title="Fleurs")
    await publish(alice, note["id"])
    await alice.client.post(f"/api/notes/{note['id']}/reopen")
    await type_paragraph(server, alice, note["id"], "Ajout en direct : tournesol.")
    # Within seconds, the author finds the new words.
    await indexed(alice.client, note["id"], q="tournesol")
    # Readers outside still search the published text only.
    assert ids(await search(anonymous, q="coquelicot")) == [note["id"]]
    assert (await search(anonymous, q="tournesol"))["total"] == 0
    # A retitle reaches the index too (metadata changes are followed).
    await alice.client.patch(f"/api/notes/{note['id']}", json={"title": "Jardin botanique"})
    await indexed(alice.client, note["id"], q="botanique")
    assert (await search(anonymous, q="botanique"))["total"] == 0
    # Republishing replaces the published text; unpublishing removes it.
    await publish(alice, note["id"])
    assert ids(await search(anonymous, q="tournesol")) == [note["id"]]
    await alice.client.post(f"/api/notes/{note['id']}/unpublish")
    assert (await search(anonymous, q="tournesol"))["total"] == 0


async def test_publications_without_index_rows_are_indexed(
    people: People, anonymous: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    """A published version missing from the index (published before it existed) is
    indexed by the background task."""
    alice = await people.new()
    carnet = await public_carnet(alice)
    note = await import_note(alice, carnet["id"], "Le mot glycine.\n")
    await publish(alice, note["id"])
    async with db.acquire() as conn:
        await conn.execute(
            "DELETE FROM note_search WHERE note_id = $1 AND version = 'published'", note["id"]
        )
    await indexed(anonymous, note["id"], q="glycine")
