"""Writing together: two co-authors in one note, an audience watching the carnet grow."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import PHONE, Browsing, screenshot, type_into_editor
from tests.support import People, add_member, new_carnet


async def test_two_authors_and_an_audience(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    bruno = await people.new("Bruno Tremblay")
    carnet = await new_carnet(
        alice.client,
        title="RADN 2025 — 12e rencontre nationale",
        visibility="public",
        event_name="Rencontre du RADN",
        event_start="2025-02-25",
        event_end="2025-02-27",
        event_place="Québec",
        categories=["Récit", "Atelier", "Conférence"],
        writing_guide="Titrez vos notes avec la date d’abord : 2025-02-25 Atelier…",
    )
    await add_member(alice.client, carnet["id"], bruno, "contributor")
    carnet_path = f"/carnets/{carnet['id']}"

    # The audience: nobody signed in, on a phone, on the public carnet page.
    audience = await browsing.page(PHONE)
    await audience.goto(carnet_path)
    await expect(audience.locator("#live-state")).to_have_text("En direct")
    await expect(audience.locator("#notes-empty")).to_have_text("Aucune note pour l’instant.")

    # Alice creates a note from the carnet page.
    writer = await browsing.signed_in(alice)
    await writer.goto(carnet_path)
    await writer.fill("#new-note-title", "2025-02-25 Récit de la plénière")
    await writer.select_option("#new-note-category", "Récit")
    await writer.click("#new-note button[type=submit]")
    await writer.wait_for_url(re.compile(r"/notes/[A-Za-z0-9_-]+$"))
    note_id = writer.url.rsplit("/", 1)[1]

    # It appears on the audience's page without a reload.
    item = audience.locator(f".note-item[data-note-id='{note_id}']")
    await expect(item.locator(".note-link")).to_have_text("2025-02-25 Récit de la plénière")
    await expect(item.locator(".badge", has_text="Récit")).to_be_visible()

    # Bruno, on his phone, opens the same note.
    cowriter = await browsing.signed_in(bruno, PHONE)
    await cowriter.goto(f"/notes/{note_id}")
    await expect(cowriter.locator("#save-status")).to_have_text("Enregistré")

    # Each sees the other's words within a second.
    await type_into_editor(writer, "Ouverture par la présidente du réseau. ")
    await expect(cowriter.locator(".ProseMirror")).to_contain_text(
        "Ouverture par la présidente du réseau.", timeout=1000
    )
    await type_into_editor(cowriter, "Trois chantiers annoncés. ")
    await expect(writer.locator(".ProseMirror")).to_contain_text(
        "Trois chantiers annoncés.", timeout=1000
    )

    # ... and the other's caret, with a name.
    await expect(
        writer.locator(".collaboration-carets__label", has_text="Bruno Tremblay")
    ).to_be_visible()
    await expect(
        cowriter.locator(".collaboration-carets__label", has_text="Alice Rivard")
    ).to_be_visible()
    await expect(writer.locator("#avatars li")).to_have_count(2)
    await expect(writer.locator("#save-status")).to_have_text("Enregistré")
    await expect(cowriter.locator("#save-status")).to_have_text("Enregistré")

    # The audience sees the text grow, and who is writing.
    excerpt = item.locator(".excerpt")
    await expect(excerpt).to_contain_text("Trois chantiers annoncés.", timeout=5000)
    await type_into_editor(writer, "Premier chantier : la médiation numérique.")
    await expect(excerpt).to_contain_text("la médiation numérique.", timeout=5000)
    await expect(item.locator(".presence")).to_contain_text("Alice Rivard")
    await expect(item.locator(".presence")).to_contain_text("Bruno Tremblay")
    # The audience's view-only connection is counted as a reader, not a writer.
    await expect(item.locator(".presence")).to_contain_text("1 en lecture")
    await expect(audience.locator(".ProseMirror")).to_have_count(0)

    # Pictures for the README.
    await screenshot(writer, "editor-two-carets-desktop")
    await screenshot(cowriter, "editor-phone")
    await screenshot(audience, "carnet-phone", full_page=True)
    desk = await writer.context.new_page()
    await desk.goto(carnet_path)
    await expect(desk.locator(f".note-item[data-note-id='{note_id}'] .excerpt")).to_contain_text(
        "médiation numérique"
    )
    await screenshot(desk, "carnet-desktop", full_page=True)

    # The projector follows the note being written, in large type.
    await desk.click("#projector-toggle")
    await expect(desk.locator("#projector-title")).to_have_text("2025-02-25 Récit de la plénière")
    await expect(desk.locator("#projector-body")).to_contain_text("médiation numérique")
    await type_into_editor(writer, " Pause café.")
    await expect(desk.locator("#projector-body")).to_contain_text("Pause café.", timeout=5000)
    await screenshot(desk, "carnet-projector")
    await desk.keyboard.press("Escape")
    await expect(desk.locator("#projector")).to_be_hidden()

    # A reader who is signed in sees the live text, with no caret of their own.
    reader = await people.new("Chloé Gagnon")
    await add_member(alice.client, carnet["id"], reader, "viewer")
    watcher = await browsing.signed_in(reader)
    await watcher.goto(f"/notes/{note_id}")
    body = watcher.locator(".ProseMirror")
    await expect(body).to_have_attribute("contenteditable", "false")
    await expect(watcher.locator("#save-status")).to_have_text("Lecture seule · en direct")
    await type_into_editor(writer, " Deuxième chantier : les données ouvertes.")
    await expect(body).to_contain_text("les données ouvertes.", timeout=2000)
    await expect(watcher.locator(".toolbar")).to_be_hidden()
    await expect(
        writer.locator(".collaboration-carets__label", has_text="Chloé Gagnon")
    ).to_have_count(0)
