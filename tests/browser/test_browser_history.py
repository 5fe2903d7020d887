"""History (list, preview, diff, restore) and the path to publication, from the editor."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.conftest import Browsing, type_into_editor
from tests.support import People, new_carnet, new_note


async def confirm(page: Page) -> None:
    dialog = page.locator("dialog[open]")
    await expect(dialog).to_be_visible()
    await dialog.locator("button[value=ok]").click()
    await expect(dialog).to_have_count(0)


async def test_restore_then_finalise_and_publish(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await new_carnet(alice.client, visibility="public")
    note = await new_note(alice.client, carnet["id"], title="2025-02-26 Atelier données")
    content = f"/api/notes/{note['id']}/content?format=text"
    page = await browsing.signed_in(alice)
    await page.goto(f"/notes/{note['id']}")
    status = page.locator("#save-status")
    body = page.locator(".ProseMirror")

    await type_into_editor(page, "Version à garder.")
    await expect(status).to_have_text("Enregistré")
    await page.click("#tab-history")
    await page.click("#mark-version")
    revisions = page.locator("#revisions .revision")
    await expect(revisions).to_have_count(1)
    await expect(revisions.first).to_contain_text("Version marquée")
    await expect(revisions.first).to_contain_text("par Alice Rivard")
    # Dates as a French reader says them: "25 février 2025 à 14 h 28".
    await expect(revisions.first).to_contain_text(
        re.compile(r"\b\d{1,2}(er)? [a-zéû]+ \d{4} à \d{1,2} h \d{2}")
    )

    await type_into_editor(page, " Phrase de trop.")
    await expect(status).to_have_text("Enregistré")
    assert "Phrase de trop." in (await alice.client.get(content)).text

    # Preview and diff of the marked version.
    await revisions.first.get_by_role("button", name="Aperçu").click()
    view = page.locator("#revision-view")
    await expect(view).to_contain_text("Version à garder.")
    await expect(view).not_to_contain_text("Phrase de trop.")
    await revisions.first.get_by_role("button", name="Différences").click()
    await expect(view.locator("ins")).to_contain_text("trop.")

    # Restore it: everyone's text goes back, and the server holds it.
    await revisions.first.get_by_role("button", name="Restaurer").click()
    await confirm(page)
    await expect(body).not_to_contain_text("Phrase de trop.", timeout=5000)
    await expect(body).to_contain_text("Version à garder.")
    assert "Phrase de trop." not in (await alice.client.get(content)).text
    await expect(revisions.first).to_contain_text("Restauration")

    # Finalise: the text freezes for everyone.
    await page.click("button[data-action=finalise]")
    await confirm(page)
    await expect(page.locator("#note-status")).to_have_text("Finalisée")
    await expect(body).to_have_attribute("contenteditable", "false")
    await expect(status).to_have_text("Lecture seule · en direct")
    await expect(page.locator(".toolbar")).to_be_hidden()

    # Publish: the editor links to the published page.
    await page.click("button[data-action=publish]")
    await confirm(page)
    await expect(page.locator("#note-status")).to_have_text("Publiée")
    await expect(page.locator("#published-link")).to_have_attribute("href", f"/n/{note['id']}")
    published = (await alice.client.get(f"/api/notes/{note['id']}")).json()
    assert published["status"] == "published"


async def test_cancelled_confirmation_changes_nothing(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await new_carnet(alice.client)
    note = await new_note(alice.client, carnet["id"])
    page = await browsing.signed_in(alice)
    await page.goto(f"/notes/{note['id']}")
    await page.click("button[data-action=publish]")
    await page.locator("dialog[open]").get_by_role("button", name="Annuler").click()
    await expect(page.locator("#note-status")).to_have_text("Brouillon")
    assert (await alice.client.get(f"/api/notes/{note['id']}")).json()["status"] == "draft"


async def test_discussion_and_details(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await new_carnet(alice.client, categories=["Récit"])
    other = await new_note(alice.client, carnet["id"], title="Culture Québec", type="organisation")
    note = await new_note(alice.client, carnet["id"], title="2025-02-25 Récit")
    page = await browsing.signed_in(alice)
    await page.goto(f"/notes/{note['id']}")

    # Details: type, category, and a link found by searching as you type.
    await page.select_option("#detail-type", "term")
    await expect(page.locator("#panel-details [role=status]")).to_have_text("Enregistré.")
    await page.select_option(f"#category-{carnet['id']}", "Récit")
    await page.select_option("#link-kind", "organisation")
    await page.fill("#link-search", "cult")
    await page.locator("#link-results button", has_text="Culture Québec").click()
    await expect(page.locator("#links")).to_contain_text("Culture Québec")
    stored = (await alice.client.get(f"/api/notes/{note['id']}")).json()
    assert stored["type"] == "term"
    assert stored["carnets"][0]["category"] == "Récit"
    links = (await alice.client.get(f"/api/notes/{note['id']}/links")).json()
    assert [(link["note_id"], link["kind"]) for link in links["links"]] == [
        (other["id"], "organisation")
    ]

    # Discussion.
    await page.click("#tab-discussion")
    await expect(page.locator("#comments")).to_contain_text("Pas encore de commentaire.")
    await page.fill("#comment-body", "Il manque le nom de l’animatrice.")
    await page.get_by_role("button", name="Commenter").click()
    await expect(page.locator("#comments .comment")).to_contain_text(
        "Il manque le nom de l’animatrice."
    )
