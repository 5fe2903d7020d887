"""Golden tests of every citation format (accents, several authors, LaTeX specials),
and the citation API of a published note."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import httpx
import pytest

from carnet.public.citations import (
    Cited,
    apa,
    bibtex,
    bibtex_escape,
    cite,
    csl_json,
    initials,
    praxis,
    ris,
    split_name,
)
from tests.public.helpers import import_note, public_carnet, publish
from tests.support import People, assert_error

NOTE = Cited(
    note_id="bifarlnUnQiz",
    title="Merci de nous aider à vous aider à nous aider à vous aider",
    authors=("Maryse Gervais", "Marie-Hélène Laurence", "Alice Rivard"),
    published=date(2024, 10, 30),
    url="https://carnet.example/n/bifarlnUnQiz",
    accessed=date(2025, 4, 21),
    carnet="12e édition des Rencontres nationales du RADN",
)

TRICKY = Cited(
    note_id="x_1-Y",
    title="Œuvres & {données} à 100 % : coût_total #2 ~ ^ \\ « ça » — suite…",
    authors=("Chanel Vincent-Dubé", "Jean de La Fontaine", "Praxis"),
    published=date(2025, 3, 1),
    url="https://carnet.example/n/x_1-Y",
    accessed=date(2025, 3, 1),
)

UNPUBLISHED = Cited(
    note_id="draft1",
    title="Notes en cours ?",
    authors=("Frédéric Cordier",),
    published=None,
    url="https://carnet.example/n/draft1",
    accessed=date(2025, 1, 9),
)


def test_praxis_form_french_and_english() -> None:
    assert praxis(NOTE, "fr") == (
        "Maryse Gervais, Marie-Hélène Laurence, Alice Rivard. (2024). Merci de nous aider à "
        "vous aider à nous aider à vous aider. Carnet (consulté le 21 avril 2025), "
        "https://carnet.example/n/bifarlnUnQiz"
    )
    assert praxis(NOTE, "en") == (
        "Maryse Gervais, Marie-Hélène Laurence, Alice Rivard. (2024). Merci de nous aider à "
        "vous aider à nous aider à vous aider. Carnet (accessed April 21, 2025), "
        "https://carnet.example/n/bifarlnUnQiz"
    )
    assert praxis(TRICKY, "fr").startswith(
        "Chanel Vincent-Dubé, Jean de La Fontaine, Praxis. (2025). Œuvres & {données}"
    )
    assert "(consulté le 1er mars 2025)" in praxis(TRICKY, "fr")
    # No year yet; a title ending with "?" takes no extra period.
    assert praxis(UNPUBLISHED, "fr") == (
        "Frédéric Cordier. (s. d.). Notes en cours ? Carnet (consulté le 9 janvier 2025), "
        "https://carnet.example/n/draft1"
    )
    assert "(n.d.)" in praxis(UNPUBLISHED, "en")


def test_apa_french_and_english() -> None:
    assert apa(NOTE, "fr") == (
        "Gervais, M., Laurence, M.-H. et Rivard, A. (2024, 30 octobre). Merci de nous aider à "
        "vous aider à nous aider à vous aider. Carnet. Consulté le 21 avril 2025, à "
        "https://carnet.example/n/bifarlnUnQiz"
    )
    assert apa(NOTE, "en") == (
        "Gervais, M., Laurence, M.-H., & Rivard, A. (2024, October 30). Merci de nous aider à "
        "vous aider à nous aider à vous aider. Carnet. Retrieved April 21, 2025, from "
        "https://carnet.example/n/bifarlnUnQiz"
    )
    assert apa(TRICKY, "fr").startswith(
        "Vincent-Dubé, C., de La Fontaine, J. et Praxis. (2025, 1 mars)."
    )
    assert apa(UNPUBLISHED, "en").startswith("Cordier, F. (n.d.). Notes en cours ? Carnet.")


def test_names() -> None:
    assert split_name("Marie-Hélène Laurence") == ("Laurence", "Marie-Hélène")
    assert split_name("Jean de La Fontaine") == ("de La Fontaine", "Jean")
    assert split_name("Praxis") == ("Praxis", "")
    assert initials("Marie-Hélène") == "M.-H."
    assert initials("jean paul") == "J. P."


def test_bibtex_golden() -> None:
    assert bibtex(NOTE, "fr") == (
        "@misc{gervais2024merci,\n"
        "  author       = {Gervais, Maryse and Laurence, Marie-H{\\'e}l{\\`e}ne"
        " and Rivard, Alice},\n"
        "  title        = {{Merci de nous aider {\\`a} vous aider {\\`a} nous aider"
        " {\\`a} vous aider}},\n"
        "  year         = {2024},\n"
        "  month        = oct,\n"
        "  date         = {2024-10-30},\n"
        "  howpublished = {Carnet},\n"
        "  organization = {12e {\\'e}dition des Rencontres nationales du RADN},\n"
        "  url          = {https://carnet.example/n/bifarlnUnQiz},\n"
        "  urldate      = {2025-04-21},\n"
        "  note         = {Consult{\\'e} le 21 avril 2025},\n"
        "  language     = {french}\n"
        "}\n"
    )


def test_bibtex_escapes_specials_with_balanced_braces() -> None:
    escaped = bibtex_escape(TRICKY.title)
    assert escaped == (
        "{\\OE}uvres \\& \\textbraceleft{}donn{\\'e}es\\textbraceright{} {\\`a} 100 \\% : "
        "co{\\^u}t\\_total \\#2 \\textasciitilde{} \\textasciicircum{} \\textbackslash{} "
        "{\\guillemotleft} {\\c{c}}a {\\guillemotright} --- suite{\\ldots}"
    )
    entry = bibtex(TRICKY)
    depth = 0
    for char in entry:  # BibTeX counts every brace, escaped or not
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert (
        "author       = {Vincent-Dub{\\'e}, Chanel and de La Fontaine, Jean and {Praxis}}" in entry
    )
    assert entry.startswith("@misc{vincentdube2025oeuvres,")
    assert bibtex_escape("naïve Ångström ł") == 'na{\\"\\i}ve {\\AA}ngstr{\\"o}m {\\l}'


def test_ris_golden() -> None:
    assert ris(NOTE) == (
        "TY  - ELEC\r\n"
        "AU  - Gervais, Maryse\r\n"
        "AU  - Laurence, Marie-Hélène\r\n"
        "AU  - Rivard, Alice\r\n"
        "TI  - Merci de nous aider à vous aider à nous aider à vous aider\r\n"
        "PY  - 2024\r\n"
        "DA  - 2024/10/30\r\n"
        "PB  - Carnet\r\n"
        "T2  - 12e édition des Rencontres nationales du RADN\r\n"
        "UR  - https://carnet.example/n/bifarlnUnQiz\r\n"
        "Y2  - 2025/04/21\r\n"
        "LA  - fr\r\n"
        "ID  - bifarlnUnQiz\r\n"
        "ER  - \r\n"
    )
    # One value per line, whatever the title holds.
    multiline = dataclasses.replace(NOTE, title="a\nb\r\nc")
    assert "TI  - a b c\r\n" in ris(multiline)


def test_csl_json_golden() -> None:
    assert json.loads(csl_json(NOTE)) == [
        {
            "id": "bifarlnUnQiz",
            "type": "webpage",
            "title": "Merci de nous aider à vous aider à nous aider à vous aider",
            "author": [
                {"family": "Gervais", "given": "Maryse"},
                {"family": "Laurence", "given": "Marie-Hélène"},
                {"family": "Rivard", "given": "Alice"},
            ],
            "container-title": "Carnet",
            "publisher": "Carnet",
            "collection-title": "12e édition des Rencontres nationales du RADN",
            "URL": "https://carnet.example/n/bifarlnUnQiz",
            "issued": {"date-parts": [[2024, 10, 30]]},
            "accessed": {"date-parts": [[2025, 4, 21]]},
            "language": "fr",
        }
    ]
    tricky = json.loads(csl_json(TRICKY))[0]
    assert tricky["title"] == TRICKY.title  # JSON escaping round-trips every character
    assert tricky["author"][2] == {"literal": "Praxis"}
    assert "issued" not in json.loads(csl_json(UNPUBLISHED))[0]


def test_unknown_format() -> None:
    with pytest.raises(ValueError):
        cite(NOTE, "mla")


async def test_citation_api_public_once_published(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new("Alice Rivard")
    bob = await people.new("Marie-Hélène Laurence")
    carnet = await public_carnet(alice, title="Rencontres & {ateliers}")
    note = await import_note(
        alice, carnet["id"], "Texte.\n", title="Éloge de l’écoute & du {partage}"
    )
    response = await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": bob.id})
    assert response.status_code == 201, response.text
    # A draft of a public note may be read, so cited, but without a year.
    draft = await anonymous.get(f"/api/notes/{note['id']}/citation", params={"format": "apa"})
    assert draft.status_code == 200 and "(s. d.)" in draft.text
    published = await publish(alice, note["id"])
    year = published["published_at"][:4]

    response = await anonymous.get(f"/api/notes/{note['id']}/citation", params={"format": "bibtex"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-bibtex")
    text = response.text
    assert text.startswith(f"@misc{{rivard{year}eloge,")
    assert "author       = {Rivard, Alice and Laurence, Marie-H{\\'e}l{\\`e}ne}" in text
    assert (
        "title        = {{{\\'E}loge de l'{\\'e}coute \\& du "
        "\\textbraceleft{}partage\\textbraceright{}}}" in text
    )
    assert "organization = {Rencontres \\& \\textbraceleft{}ateliers\\textbraceright{}}" in text
    assert f"/n/{note['id']}}}" in text

    for fmt, media in (
        ("ris", "application/x-research-info-systems"),
        ("csl-json", "application/vnd.citationstyles.csl+json"),
        ("apa", "text/plain"),
        ("praxis", "text/plain"),
    ):
        response = await anonymous.get(
            f"/api/notes/{note['id']}/citation", params={"format": fmt, "lang": "en"}
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(media)
    csl = json.loads(
        (
            await anonymous.get(f"/api/notes/{note['id']}/citation", params={"format": "csl-json"})
        ).text
    )
    assert csl[0]["title"] == "Éloge de l’écoute & du {partage}"
    assert csl[0]["issued"]["date-parts"][0][0] == int(year)
    praxis_fr = (
        await anonymous.get(
            f"/api/notes/{note['id']}/citation", params={"format": "praxis", "lang": "fr"}
        )
    ).text
    assert praxis_fr.startswith(f"Alice Rivard, Marie-Hélène Laurence. ({year}). Éloge")
    assert "Carnet (consulté le " in praxis_fr

    bad = await anonymous.get(f"/api/notes/{note['id']}/citation", params={"format": "mla"})
    assert bad.status_code == 400


async def test_citation_of_private_note_is_not_found(
    people: People, anonymous: httpx.AsyncClient
) -> None:
    alice = await people.new()
    carnet = await public_carnet(alice, visibility="private")
    note = await import_note(alice, carnet["id"], "Secret.\n")
    await publish(alice, note["id"])
    response = await anonymous.get(f"/api/notes/{note['id']}/citation", params={"format": "bibtex"})
    assert_error(response, 404)
    mine = await alice.client.get(f"/api/notes/{note['id']}/citation", params={"format": "bibtex"})
    assert mine.status_code == 200
