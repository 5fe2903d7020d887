"""Signing in and up, creating a carnet and a note from the UI, the page shells."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import expect

from tests.browser.conftest import Browsing, screenshot, sign_in, type_into_editor
from tests.support import People


async def test_sign_in_create_carnet_and_note(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    page = await browsing.page()
    await sign_in(page, alice)
    await expect(page.locator("h1")).to_have_text("Mes carnets")

    # A carnet, from the home page's form.
    await page.fill("#carnet-title", "RADN 2025 — 12e rencontre")
    await page.fill("#carnet-event", "Rencontre nationale du RADN")
    await page.fill("#carnet-start", "2025-02-25")
    await page.fill("#carnet-end", "2025-02-27")
    await page.fill("#carnet-place", "Québec")
    await page.check("input[name=visibility][value=public]")
    await page.fill("#carnet-categories", "Récit, Atelier")
    await page.click("#new-carnet button[type=submit]")
    await page.wait_for_url(re.compile(r"/carnets/[A-Za-z0-9_-]+$"))
    await expect(page.locator("h1")).to_have_text("RADN 2025 — 12e rencontre")
    await expect(page.locator(".carnet-head .eyebrow")).to_contain_text(
        "du 25 février 2025 au 27 février 2025"
    )

    # A note, from the carnet page; it opens in the editor.
    await page.fill("#new-note-title", "2025-02-25 Atelier numérique")
    await page.select_option("#new-note-category", "Atelier")
    await page.click("#new-note button[type=submit]")
    await page.wait_for_url(re.compile(r"/notes/[A-Za-z0-9_-]+$"))
    await expect(page.locator("#note-title")).to_have_value("2025-02-25 Atelier numérique")
    await type_into_editor(page, "Premières idées de l’atelier.")
    await expect(page.locator("#save-status")).to_have_text("Enregistré", timeout=5000)

    # What the server holds is what was typed.
    note_id = page.url.rsplit("/", 1)[1]
    response = await alice.client.get(f"/api/notes/{note_id}/content", params={"format": "text"})
    assert "Premières idées de l’atelier." in response.text

    # Back on the carnet page, the note is listed with its category.
    await page.click(".eyebrow a")
    item = page.locator(".note-item", has_text="2025-02-25 Atelier numérique")
    await expect(item).to_be_visible()
    await expect(item.locator(".badge", has_text="Atelier")).to_be_visible()
    await page.click(".brand")
    await expect(page.locator(".carnet-link")).to_have_text("RADN 2025 — 12e rencontre")
    await screenshot(page, "home-desktop", full_page=True)


async def test_sign_up_and_sign_out(browsing: Browsing) -> None:
    page = await browsing.page()
    await page.goto("/signup")
    await page.fill("input[name=name]", "Bruno Tremblay")
    await page.fill("input[name=email]", "bruno.tremblay@example.org")
    await page.fill("input[name=password]", "trop")
    await page.click("button[type=submit]")
    # The browser itself holds back a password that is too short.
    assert await page.eval_on_selector("input[name=password]", "e => e.validity.tooShort")
    await page.fill("input[name=password]", "un-mot-de-passe-solide")
    await page.click("button[type=submit]")
    await expect(page.locator(".whoami")).to_have_text("Bruno Tremblay")
    await page.click("text=Se déconnecter")
    await expect(page.locator(".topnav a", has_text="Se connecter")).to_be_visible()
    assert not [
        c for c in await page.context.cookies() if c["name"] == "carnet_session" and c["value"]
    ]


async def test_wrong_password_says_so(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    page = await browsing.page()
    await page.goto("/login")
    await page.fill("input[name=email]", alice.email)
    await page.fill("input[name=password]", "pas le bon")
    await page.click("button[type=submit]")
    await expect(page.locator(".form-error")).to_have_text(
        "Adresse courriel ou mot de passe incorrect."
    )


async def test_pages_are_safe(browsing: Browsing, people: People) -> None:
    """A strict CSP with no inline script, no framing, a referrer policy; user text escaped."""
    alice = await people.new('<img src=x onerror="alert(1)">')
    carnet = (
        await alice.client.post(
            "/api/carnets",
            json={"title": "<script>alert('carnet')</script>", "visibility": "public"},
        )
    ).json()
    note = (
        await alice.client.post(
            f"/api/carnets/{carnet['id']}/notes", json={"title": "</script><script>alert(2)//"}
        )
    ).json()
    async with httpx.AsyncClient(base_url=browsing.server.base_url) as anonymous:
        for path in ("/login", f"/carnets/{carnet['id']}", f"/notes/{note['id']}"):
            response = await anonymous.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert "unsafe-inline" not in csp
            assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
            assert response.headers["x-content-type-options"] == "nosniff"
            scripts = re.findall(r"<script\b([^>]*)>", response.text)
            assert scripts and all(
                'src="/static/' in attrs or 'type="application/json"' in attrs for attrs in scripts
            ), scripts
            assert "<script>alert" not in response.text
            assert "</script><script>alert(2)" not in response.text

    page = await browsing.signed_in(alice)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    await page.goto(f"/carnets/{carnet['id']}")
    await expect(page.locator("h1")).to_have_text("<script>alert('carnet')</script>")
    await expect(page.locator(".note-link")).to_have_text("</script><script>alert(2)//")
    await page.goto(f"/notes/{note['id']}")
    await expect(page.locator("#note-title")).to_have_value("</script><script>alert(2)//")
    await expect(page.locator(".ProseMirror")).to_be_visible()
    assert dialogs == []


async def test_invitation_link_then_sign_up(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = (await alice.client.post("/api/carnets", json={"title": "Atelier privé"})).json()
    invitation = (
        await alice.client.post(
            f"/api/carnets/{carnet['id']}/invitations", json={"role": "contributor"}
        )
    ).json()
    invite_path = invitation["url"].removeprefix(browsing.server.base_url)
    page = await browsing.page()
    await page.goto(invite_path)
    await page.get_by_role("link", name="Créer un compte").click()
    await page.fill("input[name=name]", "Denise Roy")
    await page.fill("input[name=email]", "denise.roy@example.org")
    await page.fill("input[name=password]", "un-mot-de-passe-solide")
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(re.escape(invite_path) + "$"))
    await page.get_by_role("button", name="Rejoindre le carnet").click()
    await page.wait_for_url(re.compile(rf"/carnets/{carnet['id']}$"))
    await expect(page.locator("h1")).to_have_text("Atelier privé")
    await expect(page.locator("#new-note")).to_be_visible()  # a contributor now


async def test_private_carnet_is_not_shown_to_strangers(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = (await alice.client.post("/api/carnets", json={"title": "Secret"})).json()
    page = await browsing.page()
    response = await page.goto(f"/carnets/{carnet['id']}")
    assert response is not None and response.status == 404
    await expect(page.locator("h1")).to_have_text("Page introuvable")
    await expect(page.get_by_text("Secret")).to_have_count(0)


async def test_managers_arrange_and_everyone_filters(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    carnet = (
        await alice.client.post(
            "/api/carnets", json={"title": "RADN", "categories": ["Récit", "Atelier"]}
        )
    ).json()
    made = []
    for title, category in [("Premier", "Récit"), ("Deuxième", "Atelier"), ("Troisième", None)]:
        body = {"title": title, **({"category": category} if category else {})}
        response = await alice.client.post(f"/api/carnets/{carnet['id']}/notes", json=body)
        made.append(response.json()["id"])
    page = await browsing.signed_in(alice)
    await page.goto(f"/carnets/{carnet['id']}")
    titles = page.locator(".note-link")
    await expect(titles).to_have_count(3)
    original = await titles.all_inner_texts()

    # Keyboard-friendly reordering (drag and drop does the same with a mouse).
    first = original[0]
    await page.get_by_role("button", name=f"Descendre « {first} »").click()
    await expect(titles.nth(1)).to_have_text(first)
    await expect(page.locator("#live-state")).to_have_text("Ordre enregistré.")
    listed = (await alice.client.get(f"/api/carnets/{carnet['id']}/notes")).json()["items"]
    assert [n["title"] for n in listed] == await titles.all_inner_texts()

    # Pinned first.
    last = (await titles.all_inner_texts())[-1]
    item = page.locator(".note-item", has_text=last)
    await item.get_by_role("button", name="Épingler").click()
    await expect(titles.first).to_have_text(last)

    # Filters.
    await page.select_option("#filter-category", "Atelier")
    await expect(titles).to_have_text(["Deuxième"])
    await page.select_option("#filter-category", "")
    await page.fill("#filter-title", "ième")
    await expect(titles).to_have_count(2)
