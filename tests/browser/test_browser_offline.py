"""Offline: the status tells the truth, and nothing typed is lost, even in a closed tab."""

from __future__ import annotations

import re

from playwright.async_api import Page, WebSocketRoute, expect

from tests.browser.conftest import Browsing, body_text, type_into_editor
from tests.support import People, add_member, new_carnet, new_note

OFFLINE = "Hors ligne — vos modifications sont gardées sur cet appareil"
SAVED = "Enregistré"
SAVING = "Enregistrement…"

RECORD_STATUS = """() => {
  window.statusLog = []
  const line = document.getElementById('save-status')
  const note = () => {
    const text = line.textContent
    if (window.statusLog[window.statusLog.length - 1] !== text) window.statusLog.push(text)
  }
  note()
  new MutationObserver(note).observe(line, {childList: true, characterData: true, subtree: true})
}"""


async def status_log(page: Page) -> list[str]:
    log: list[str] = await page.evaluate("() => window.statusLog")
    return log


async def test_offline_edits_reach_the_others(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    bruno = await people.new("Bruno Tremblay")
    carnet = await new_carnet(alice.client)
    await add_member(alice.client, carnet["id"], bruno, "contributor")
    note = await new_note(alice.client, carnet["id"])
    path = f"/notes/{note['id']}"

    async def server_text() -> str:
        response = await alice.client.get(f"/api/notes/{note['id']}/content?format=text")
        return response.text

    writer = await browsing.signed_in(alice)
    other = await browsing.signed_in(bruno)
    for page in (writer, other):
        await page.goto(path)
        await expect(page.locator("#save-status")).to_have_text(SAVED)
    status = writer.locator("#save-status")
    await type_into_editor(writer, "Avant la coupure. ")
    await expect(other.locator(".ProseMirror")).to_contain_text("Avant la coupure.")
    await expect(status).to_have_text(SAVED)

    # Offline: the socket closes at once, the status says so, typing goes on.
    await writer.evaluate(RECORD_STATUS)
    await writer.context.set_offline(True)
    await expect(status).to_have_text(OFFLINE)
    assert await writer.evaluate("() => window.carnet.connection.provider.ws") is None
    await type_into_editor(writer, "Écrit hors ligne. ")
    await expect(status).to_have_text(OFFLINE)
    await other.wait_for_timeout(1500)
    assert "Écrit hors ligne." not in await body_text(other)  # the cut is real
    assert "Écrit hors ligne." not in await server_text()
    assert set((await status_log(writer))[1:]) == {OFFLINE}

    # Back online: the text reaches the other, and "Enregistré" only once stored.
    await writer.context.set_offline(False)
    await expect(other.locator(".ProseMirror")).to_contain_text("Écrit hors ligne.", timeout=8000)
    await expect(status).to_have_text(SAVED, timeout=8000)
    assert "Écrit hors ligne." in await server_text()
    log = await status_log(writer)
    assert log[-1] == SAVED and SAVING in log, log
    assert log.index(SAVED, 1) > log.index(SAVING), log
    assert log[1] == OFFLINE, log


async def test_a_tab_closed_offline_keeps_its_text(browsing: Browsing, people: People) -> None:
    alice = await people.new("Alice Rivard")
    bruno = await people.new("Bruno Tremblay")
    carnet = await new_carnet(alice.client)
    await add_member(alice.client, carnet["id"], bruno, "contributor")
    note = await new_note(alice.client, carnet["id"])
    path = f"/notes/{note['id']}"

    writer = await browsing.signed_in(alice)
    other = await browsing.signed_in(bruno)
    for page in (writer, other):
        await page.goto(path)
        await expect(page.locator("#save-status")).to_have_text(SAVED)
    await type_into_editor(writer, "En ligne. ")
    await expect(other.locator(".ProseMirror")).to_contain_text("En ligne.")

    # Offline, a sentence, then the tab is closed before the network comes back.
    device = writer.context
    await device.set_offline(True)
    await expect(writer.locator("#save-status")).to_have_text(OFFLINE)
    await type_into_editor(writer, "Dernière phrase avant de fermer l’onglet.")
    await writer.wait_for_timeout(300)  # IndexedDB writes as each change is made
    await writer.close()
    await device.set_offline(False)

    # Reopened while the server still cannot be reached: the text is there, from
    # this device, and the status does not pretend it is saved.
    server_reachable = False

    async def gate(socket: WebSocketRoute) -> None:
        if server_reachable:
            socket.connect_to_server()
        else:
            await socket.close(code=1011, reason="unreachable")

    reopened = await device.new_page()
    await reopened.route_web_socket(re.compile(r"/ws/notes/"), gate)
    await reopened.goto(path)
    await expect(reopened.locator(".ProseMirror")).to_contain_text(
        "Dernière phrase avant de fermer l’onglet."
    )
    await expect(reopened.locator("#save-status")).to_have_text(OFFLINE)
    assert "Dernière phrase" not in await body_text(other)

    # The server is back: the text is sent, saved, and reaches the co-author.
    server_reachable = True
    await expect(other.locator(".ProseMirror")).to_contain_text(
        "Dernière phrase avant de fermer l’onglet.", timeout=10_000
    )
    await expect(reopened.locator("#save-status")).to_have_text(SAVED, timeout=10_000)
    text = (await alice.client.get(f"/api/notes/{note['id']}/content?format=text")).text
    assert "En ligne. Dernière phrase avant de fermer l’onglet." in text
