"""Helpers for tests: ports, URLs, signed-up people with API clients."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Any

import httpx

from carnet.config import Settings

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

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
