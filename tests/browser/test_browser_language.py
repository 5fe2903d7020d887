"""French first, English by choice (remembered); an axe scan of the main pages."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import PHONE, Browsing, axe_violations, sign_in
from tests.support import People, new_carnet, new_note


async def test_french_by_default_english_by_choice(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await new_carnet(
        alice.client, visibility="public", event_start="2025-02-25", event_name="RADN"
    )
    note = await new_note(alice.client, carnet["id"])
    page = await browsing.page()  # a browser that prefers French (fr-CA)
    await sign_in(page, alice)
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("h1")).to_have_text("Mes carnets")

    await page.click("a.lang-switch")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("h1")).to_have_text("My carnets")
    cookie = [c for c in await page.context.cookies() if c["name"] == "carnet_lang"]
    assert cookie and cookie[0]["value"] == "en"

    # Remembered on the next pages, drawn by the server and by the scripts alike.
    await page.goto(f"/carnets/{carnet['id']}")
    await expect(page.locator(".carnet-head .eyebrow")).to_contain_text("February 25, 2025")
    await expect(page.locator("#live-state")).to_have_text("Live")
    await page.goto(f"/notes/{note['id']}")
    await expect(page.locator("#save-status")).to_have_text("Saved")
    await expect(page.locator("#tab-history")).to_have_text("History")
    await expect(page.locator("#note-status")).to_have_text("Draft")

    await page.click("a.lang-switch")
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
    await expect(page.locator("#save-status")).to_have_text("Enregistré")
    await expect(page.locator("#tab-history")).to_have_text("Historique")


async def test_no_serious_accessibility_violations(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = await new_carnet(alice.client, visibility="public", categories=["Récit"])
    note = await new_note(alice.client, carnet["id"], category="Récit")
    found: dict[str, object] = {}

    visitor = await browsing.page(PHONE)
    for path in ("/", "/login", "/signup", f"/carnets/{carnet['id']}"):
        await visitor.goto(path)
        await visitor.wait_for_load_state("networkidle")
        found[f"anonymous {path}"] = await axe_violations(visitor)

    page = await browsing.signed_in(alice)
    for path in ("/", f"/carnets/{carnet['id']}", f"/notes/{note['id']}"):
        await page.goto(path)
        if path.startswith("/notes/"):
            await expect(page.locator("#save-status")).to_have_text("Enregistré")
        else:
            await page.wait_for_load_state("networkidle")
        found[path] = await axe_violations(page)
    await page.click("#tab-history")
    await expect(page.locator("#revisions")).to_be_visible()
    found["history panel"] = await axe_violations(page)
    await page.click("#tab-discussion")
    await expect(page.locator("#comments")).to_be_visible()
    found["discussion panel"] = await axe_violations(page)
    await page.goto(f"/carnets/{carnet['id']}?projecteur=1")
    await expect(page.locator("#projector")).to_be_visible()
    found["projector"] = await axe_violations(page)

    assert {where: v for where, v in found.items() if v} == {}
