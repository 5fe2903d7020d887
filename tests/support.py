"""Helpers for tests: ports, URLs, signed-up people with API clients."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from litestar import Litestar

from carnet.app import create_app
from carnet.config import Settings
from carnet.sync.limits import Limits

ADMIN_URL = os.environ.get("CARNET_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def database_url_for(name: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@dataclass
class RunningServer:
    base_url: str
    settings: Settings
    app: Litestar | None = None

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url.removeprefix("http")


@dataclass
class Person:
    id: str
    email: str
    name: str
    password: str
    token: str
    client: httpx.AsyncClient  # authenticated with the API token


class People:
    """Makes signed-up users with API-token clients."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.clients: list[httpx.AsyncClient] = []

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.server.base_url, **kwargs)
        self.clients.append(client)
        return client

    async def new(self, name: str = "Alice Rivard") -> Person:
        email = f"{secrets.token_hex(4)}@example.org"
        password = "motdepasse-" + secrets.token_hex(4)
        browser = self.client()
        response = await browser.post(
            "/api/auth/signup", json={"email": email, "name": name, "password": password}
        )
        assert response.status_code == 201, response.text
        user_id = response.json()["user"]["id"]
        response = await browser.post(
            "/api/auth/tokens",
            json={"label": "tests"},
            headers={"x-csrf-token": response.json()["csrf_token"]},
        )
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        client = self.client(headers={"authorization": f"Bearer {token}"})
        return Person(user_id, email, name, password, token, client)

    async def note(self, owner: Person, visibility: str = "private") -> tuple[str, str]:
        """A new carnet of ``owner`` holding one new note: (carnet id, note id)."""
        carnet = await owner.client.post(
            "/api/carnets", json={"title": "Rencontre", "visibility": visibility}
        )
        assert carnet.status_code == 201, carnet.text
        note = await owner.client.post(
            f"/api/carnets/{carnet.json()['id']}/notes", json={"title": "Récit"}
        )
        assert note.status_code == 201, note.text
        return carnet.json()["id"], note.json()["id"]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


# Shortcuts for API tests -----------------------------------------------------------


async def new_carnet(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A carnet made through the API (private unless said otherwise)."""
    body = {"title": "RADN 2025", **fields}
    response = await client.post("/api/carnets", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def new_note(client: httpx.AsyncClient, carnet_id: str, **fields: Any) -> dict[str, Any]:
    body = {"title": "2025-02-25 Récit", **fields}
    response = await client.post(f"/api/carnets/{carnet_id}/notes", json=body)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


async def add_member(
    client: httpx.AsyncClient, carnet_id: str, person: Person, role: str
) -> dict[str, Any]:
    response = await client.post(
        f"/api/carnets/{carnet_id}/members", json={"email": person.email, "role": role}
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> None:
    """An error answer: the status, and the JSON body every error has."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body["messages"]) == {"fr", "en"}
    assert body["detail"] in body["messages"].values()
    if code is not None:
        assert body["code"] == code, body


@asynccontextmanager
async def serve_app(
    database_url: str, *, limits: Limits | None = None, **settings: Any
) -> AsyncIterator[RunningServer]:
    """Run the real app with uvicorn on a free port, in the current event loop."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = Settings(
        database_url=database_url,
        secret_key=settings.pop("secret_key", secrets.token_urlsafe(32)),
        base_url=base_url,
        **settings,
    )
    app = create_app(config, limits)
    uv = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
            ws_per_message_deflate=False,
        )
    )
    task = asyncio.create_task(uv.serve())
    try:
        while not uv.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield RunningServer(base_url=base_url, settings=config, app=app)
    finally:
        uv.should_exit = True
        await task


class Cast:
    """People made once and shared by the tests of a module, by key.

    Signing up costs an Argon2 hash (a tenth of a second or more): tests that
    only need *someone* in a role reuse these, and make their own carnets.
    """

    def __init__(self, people: People) -> None:
        self.people = people
        self.known: dict[str, Person] = {}
        self.anonymous = people.client()

    async def __call__(self, key: str, name: str | None = None) -> Person:
        if key not in self.known:
            self.known[key] = await self.people.new(name or key.title())
        return self.known[key]
