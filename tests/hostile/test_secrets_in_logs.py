"""Passwords and tokens never reach the server's logs (issue 6).

A ``carnet serve`` child process writes its logs (JSON lines) to a file. The
test signs up and in (and fails a sign-in), makes and uses API tokens over
REST and WebSocket, makes an invitation and accepts its link (API and page),
signs out, revokes — then looks for every secret in the logs: passwords,
session cookies, CSRF tokens, API tokens, invitation secrets. The log must
still show the requests (redacted), so the test knows it read the right file.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

import httpx
import pycrdt
import websockets

from tests.faults.conftest import StartCarnet
from tests.faults.harness import Writer, doc_content, seed_from_env, stored_doc


async def test_no_secret_in_the_logs(carnet: StartCarnet, database: str) -> None:
    seed_from_env()
    server = await carnet()
    base = server.base_url
    found: list[str] = []  # every secret the server handed out or was given
    people: dict[str, dict[str, Any]] = {}

    async with httpx.AsyncClient(base_url=base) as anonymous:
        for name in ("Alice", "Bob"):
            email = f"{name.lower()}-{secrets.token_hex(3)}@example.org"
            password = f"Mot-de-passe {name} {secrets.token_hex(6)} é"
            browser = httpx.AsyncClient(base_url=base)
            signup = await browser.post(
                "/api/auth/signup", json={"email": email, "name": name, "password": password}
            )
            assert signup.status_code == 201, signup.text
            wrong = f"wrong-{secrets.token_hex(6)}"
            failed = await anonymous.post(
                "/api/auth/login", json={"email": email, "password": wrong}
            )
            assert failed.status_code == 401, failed.text
            login = await browser.post(
                "/api/auth/login", json={"email": email, "password": password}
            )
            assert login.status_code == 200, login.text
            cookie = browser.cookies.get("carnet_session")
            csrf = login.json()["csrf_token"]
            made = await browser.post(
                "/api/auth/tokens", json={"label": "script"}, headers={"x-csrf-token": csrf}
            )
            assert made.status_code == 201, made.text
            token = made.json()["token"]
            found += [password, wrong, cookie, csrf, token, signup.json()["csrf_token"]]
            people[name] = {"browser": browser, "token": token, "csrf": csrf, "email": email}

        alice, bob = people["Alice"], people["Bob"]
        auth = {"authorization": f"Bearer {alice['token']}"}
        carnet = await anonymous.post("/api/carnets", json={"title": "Rencontre"}, headers=auth)
        assert carnet.status_code == 201, carnet.text
        carnet_id = carnet.json()["id"]
        note = await anonymous.post(
            f"/api/carnets/{carnet_id}/notes", json={"title": "Récit"}, headers=auth
        )
        note_id = note.json()["id"]
        invitation = await anonymous.post(
            f"/api/carnets/{carnet_id}/invitations", json={"role": "viewer"}, headers=auth
        )
        assert invitation.status_code == 201, invitation.text
        secret = invitation.json()["token"]
        spare = await anonymous.post(f"/api/carnets/{carnet_id}/invitations", json={}, headers=auth)
        found += [secret, spare.json()["token"]]

        # The invitation link, as a person follows it (page) and as the API takes it.
        await bob["browser"].get(f"/invitations/{secret}")
        await bob["browser"].get(f"/invitations/{spare.json()['token']}?next=/")
        accepted = await anonymous.post(
            f"/api/invitations/{secret}/accept",
            headers={"authorization": f"Bearer {bob['token']}"},
        )
        assert accepted.status_code == 200, accepted.text

        # Tokens in use: REST, a note socket, a socket with the token in the URL by
        # mistake, a forged token.
        forged = "ct_" + secrets.token_urlsafe(24)
        found.append(forged)
        for headers in (auth, {"authorization": f"Bearer {forged}"}):
            await anonymous.get("/api/auth/me", headers=headers)
        url = f"{server.ws_url}/ws/notes/{note_id}"
        writer = await Writer(url, headers=auth, name="alice").connect()
        await writer.synced.wait()
        body = writer.doc.get("text", type=pycrdt.Text)
        body += "Compte rendu de la rencontre"
        await writer.wait_saved()
        await writer.close()
        async with websockets.connect(f"{url}?token={alice['token']}") as ws:
            with contextlib.suppress(websockets.ConnectionClosed):
                await ws.recv()  # anonymous, private note: 4404
        await anonymous.get(f"/api/notes/{note_id}?access_token={bob['token']}")
        # A client that names its requests after its token (X-Request-ID is echoed
        # into every log line of the request).
        await anonymous.get("/api/auth/me", headers={**auth, "x-request-id": alice["token"]})

        # The note written with a token: exactly its text, for a fresh client and in
        # PostgreSQL.
        expected = {"text": "Compte rendu de la rencontre"}
        fresh = await Writer(url, headers=auth, name="fresh").connect()
        try:
            await asyncio.wait_for(fresh.synced.wait(), 10)
            assert fresh.content(expected) == expected
        finally:
            await fresh.close()
        assert doc_content(await stored_doc(database, note_id), expected) == expected

        # Ending things.
        tokens = (await anonymous.get("/api/auth/tokens", headers=auth)).json()
        for made_token in tokens:
            await anonymous.delete(f"/api/auth/tokens/{made_token['id']}", headers=auth)
        await bob["browser"].post("/api/auth/logout", headers={"x-csrf-token": bob["csrf"]})
        for person in people.values():
            await person["browser"].aclose()

    log = server.log(tail=10_000_000)
    assert "/api/invitations/ci_[redacted]/accept" in log, log[-3000:]
    assert "/api/auth/login" in log and "/ws/notes/" in log
    leaked = [s for s in found if s and s in log]
    assert not leaked, f"{len(leaked)} secrets in the logs, e.g. …{leaked[0][-6:]}"
    # Nor any piece long enough to matter of the random part of a secret.
    for secret_value in found:
        tail = secret_value[-16:]
        assert len(tail) < 12 or tail not in log
