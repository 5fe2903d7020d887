"""Helpers for the publishing tests: carnets with notes whose body is written for real."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pycrdt

from tests.support import Person, RunningServer
from tests.sync.client import YClient


async def public_carnet(person: Person, **fields: Any) -> dict[str, Any]:
    body = {"title": "Rencontres nationales du RADN", "visibility": "public", **fields}
    response = await person.client.post("/api/carnets", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def import_note(
    person: Person, carnet_id: str, markdown: str, **fields: Any
) -> dict[str, Any]:
    """A note whose body is ``markdown``, through the import API."""
    response = await person.client.post(
        f"/api/carnets/{carnet_id}/import", json={"markdown": markdown, **fields}
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def publish(person: Person, note_id: str) -> dict[str, Any]:
    response = await person.client.post(f"/api/notes/{note_id}/publish")
    assert response.status_code == 200, response.text
    made: dict[str, Any] = response.json()
    return made


async def type_paragraph(server: RunningServer, person: Person, note_id: str, text: str) -> None:
    """Append a paragraph to the note body through the live socket, as an editor would."""
    client = await YClient(
        f"{server.ws_url}/ws/notes/{note_id}",
        headers={"authorization": f"Bearer {person.token}"},
    ).connect()
    await client.synced.wait()
    fragment = client.doc.get("default", type=pycrdt.XmlFragment)
    with client.doc.transaction():
        paragraph = fragment.children.append(pycrdt.XmlElement("paragraph"))
        paragraph.children.append(pycrdt.XmlText()).insert(0, text)
    await client.wait_saved()
    await client.close()


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 8.0, step: float = 0.1
) -> None:
    """Wait until ``check`` passes (the search index follows edits within seconds)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(step)


async def search(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/search", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def ids(found: dict[str, Any]) -> list[str]:
    return [result["id"] for result in found["results"]]
