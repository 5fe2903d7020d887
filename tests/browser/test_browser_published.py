"""The published note page in a browser: the citation's copy button, desktop and phone."""

from __future__ import annotations

import re
from datetime import date

from playwright.async_api import expect

from tests.browser.conftest import DESKTOP, PHONE, Browsing, screenshot
from tests.support import People, new_carnet, new_note


async def test_copy_button_puts_the_citation_on_the_clipboard(
    browsing: Browsing, people: People
) -> None:
    alice = await people.new("Alice Rivard")
    bruno = await people.new("Bruno Tremblay")
    carnet = await new_carnet(alice.client, visibility="public")
    note = await new_note(alice.client, carnet["id"], title="2025-02-25 Récit de la plénière")
    added = await alice.client.post(f"/api/notes/{note['id']}/authors", json={"user_id": bruno.id})
    assert added.status_code == 201, added.text
    published = await alice.client.post(f"/api/notes/{note['id']}/publish")
    assert published.status_code == 200, published.text

    context = await browsing.context(DESKTOP, permissions=["clipboard-read", "clipboard-write"])
    page = await context.new_page()
    await page.goto(f"/n/{note['id']}")
    citation = page.locator("#citation")
    year = date.today().year
    await expect(citation).to_contain_text(f"Alice Rivard, Bruno Tremblay. ({year}).")
    await expect(page.get_by_text("Pour citer cette note")).to_be_visible()
    await screenshot(page, "published-desktop", full_page=True)

    await page.locator("button[data-copy=citation]").click()
    await expect(page.locator("button[data-copy=citation]")).to_have_text(re.compile("Copié"))
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == (await citation.text_content() or "").strip()
    assert f"({year})" in copied and f"/n/{note['id']}" in copied

    phone = await browsing.page(PHONE)
    await phone.goto(f"/n/{note['id']}")
    await expect(phone.locator("#citation")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "no sideways scrolling on a phone"
    await screenshot(phone, "published-phone", full_page=True)
