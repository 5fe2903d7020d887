"""Browser tests: the real app in this event loop, Debian's Chromium driven by Playwright.

Playwright's own browser download is never used: ``executable_path`` points at
``/usr/bin/chromium`` (``make test`` installs it with apt). Each test opens
its own browser contexts (separate cookie jars and IndexedDB), as separate
people on separate devices would.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from tests.support import Person, RunningServer

CHROMIUM = os.environ.get("CARNET_TEST_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# The README's pictures are remade with CARNET_UPDATE_SCREENSHOTS=1; otherwise
# they go to a scratch folder, so a test run leaves the work tree as it was.
SCREENSHOTS = (
    ROOT / "docs" / "screenshots"
    if os.environ.get("CARNET_UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "carnet-screenshots"
)
AXE = ROOT / "static" / "node_modules" / "axe-core" / "axe.min.js"

DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed at {CHROMIUM} (Debian: apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        await launched.close()


@dataclass
class Watcher:
    """What went wrong in pages: script errors and Content-Security-Policy refusals."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.errors.append(f"CSP: {text}")

    def check(self) -> None:
        assert not self.errors, "\n".join(self.errors)


@dataclass
class Browsing:
    """Opens browser contexts for a test and closes them after it."""

    browser: Browser
    server: RunningServer
    watcher: Watcher
    contexts: list[BrowserContext] = field(default_factory=list)

    async def context(
        self, viewport: dict[str, int] | None = None, locale: str = "fr-CA", **options: Any
    ) -> BrowserContext:
        context = await self.browser.new_context(
            base_url=self.server.base_url,
            viewport=viewport or DESKTOP,
            locale=locale,
            timezone_id="America/Montreal",
            **options,
        )
        context.set_default_timeout(10_000)
        context.on("page", self.watcher.attach)
        self.contexts.append(context)
        return context

    async def page(self, viewport: dict[str, int] | None = None, **options: Any) -> Page:
        context = await self.context(viewport, **options)
        return await context.new_page()

    async def signed_in(self, person: Person, viewport: dict[str, int] | None = None) -> Page:
        """A new context (device) where ``person`` signed in through the form."""
        page = await self.page(viewport)
        await sign_in(page, person)
        return page

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


@pytest.fixture
async def browsing(browser: Browser, server: RunningServer) -> AsyncIterator[Browsing]:
    made = Browsing(browser, server, Watcher())
    try:
        yield made
    finally:
        await made.close()
    made.watcher.check()


async def sign_in(page: Page, person: Person, next_path: str = "/") -> None:
    await page.goto(f"/login?next={next_path}")
    await page.fill("input[name=email]", person.email)
    await page.fill("input[name=password]", person.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(re.escape(next_path) + r"$"))
    cookies = await page.context.cookies()
    assert any(c["name"] == "carnet_session" and c["httpOnly"] for c in cookies), cookies


async def screenshot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Serious and critical violations found by axe-core (npm, in static/node_modules)."""
    # Evaluated through the DevTools protocol: a <script> tag would be refused by
    # the page's own Content-Security-Policy, rightly.
    await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;true")
    result: dict[str, Any] = await page.evaluate(
        """async () => await axe.run(document, {resultTypes: ['violations']})"""
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def body_text(page: Page) -> str:
    text: str = await page.locator(".ProseMirror").inner_text()
    return text


async def type_into_editor(page: Page, text: str) -> None:
    editor = page.locator(".ProseMirror")
    await editor.click()
    await page.keyboard.press("Control+End")
    await page.keyboard.type(text, delay=15)


Opener = Callable[..., Awaitable[Page]]
