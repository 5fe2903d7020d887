"""Accounts and sign-in: sessions, CSRF, API tokens, rate limiting, error bodies."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from carnet.api.auth import session_cookie
from carnet.auth.identity import SESSION_COOKIE
from carnet.config import Settings
from tests.support import Cast, People, RunningServer, assert_error, new_carnet, new_note, serve_app

PASSWORD = "correct horse battery"


def _email() -> str:
    return f"compte-{secrets.token_hex(4)}@example.org"


def _session_cookie(response: httpx.Response) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)]
    return header


async def _signup(client: httpx.AsyncClient, email: str, name: str = "Alice Rivard") -> Any:
    response = await client.post(
        "/api/auth/signup", json={"email": email, "name": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_signup_opens_a_session(people: People) -> None:
    browser = people.client()
    email = _email()
    response = await browser.post(
        "/api/auth/signup", json={"email": email, "name": "  Alice Rivard ", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["email"] == email and body["user"]["name"] == "Alice Rivard"
    assert body["csrf_token"]
    cookie = _session_cookie(response).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # the test server's base URL is http
    me = await browser.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == body
    assert "password" not in response.text and "hash" not in response.text


async def test_signup_refusals(people: People) -> None:
    browser = people.client()
    email = _email()
    await _signup(browser, email)
    for taken in (email, email.upper()):
        response = await people.client().post(
            "/api/auth/signup", json={"email": taken, "name": "Autre", "password": PASSWORD}
        )
        assert_error(response, 409, "email_taken")
    response = await browser.post(
        "/api/auth/signup", json={"email": _email(), "name": "Court", "password": "court"}
    )
    assert_error(response, 400, "password_too_short")
    for body in (
        {"email": "pas-une-adresse", "name": "X", "password": PASSWORD},
        {"email": "a b@example.org", "name": "X", "password": PASSWORD},
        {"email": _email(), "name": "   ", "password": PASSWORD},
        {"email": _email(), "name": "n" * 121, "password": PASSWORD},
        {"email": _email(), "name": "N\x00", "password": PASSWORD},
        {"email": _email(), "name": "X", "password": "p" * 1025},
        {"email": _email(), "name": "X"},
        {"email": _email(), "name": "X", "password": PASSWORD, "admin": True},
    ):
        assert_error(await browser.post("/api/auth/signup", json=body), 400)


def test_cookies_are_secure_behind_https() -> None:
    settings = Settings(base_url="https://carnet.example.org", session_days=7)
    cookie = session_cookie(settings, "cs_secret")
    assert (cookie.secure, cookie.httponly, cookie.samesite) == (True, True, "lax")
    assert cookie.max_age == 7 * 86400 and cookie.value == "cs_secret"
    cleared = session_cookie(settings, None)
    assert cleared.max_age == 0 and cleared.value == ""
    assert session_cookie(Settings(base_url="http://localhost:8000"), "x").secure is False


async def test_login_logout(people: People) -> None:
    email = _email()
    await _signup(people.client(), email)
    browser = people.client()
    response = await browser.post(
        "/api/auth/login", json={"email": f"  {email.upper()} ", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    cookie = _session_cookie(response).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    csrf = response.json()["csrf_token"]
    me = await browser.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["user"]["email"] == email
    assert me.json()["csrf_token"] == csrf
    session = browser.cookies[SESSION_COOKIE]

    response = await browser.post("/api/auth/logout", headers={"x-csrf-token": csrf})
    assert response.status_code == 204
    assert "max-age=0" in _session_cookie(response).lower()
    # The session is gone on the server too, not only from this browser.
    stale = people.client(cookies={SESSION_COOKIE: session})
    assert_error(await stale.get("/api/auth/me"), 401, "unauthenticated")
    assert_error(await browser.get("/api/auth/me"), 401)


async def test_bad_credentials_say_nothing_more(people: People) -> None:
    email = _email()
    await _signup(people.client(), email)
    client = people.client(headers={"x-forwarded-for": "10.1.0.1"})
    wrong_password = await client.post(
        "/api/auth/login", json={"email": email, "password": "pas le bon"}
    )
    unknown_email = await client.post(
        "/api/auth/login", json={"email": _email(), "password": PASSWORD}
    )
    assert_error(wrong_password, 401, "bad_credentials")
    assert wrong_password.json() == unknown_email.json()
    assert wrong_password.status_code == unknown_email.status_code
    assert SESSION_COOKIE not in wrong_password.headers.get("set-cookie", "")


@pytest.fixture(scope="module")
async def strict_server(database_url: str) -> AsyncIterator[RunningServer]:
    """The app with a low sign-in limit (the shared server allows a thousand a minute)."""
    async with serve_app(database_url, login_attempts_per_minute=3) as running:
        yield running


async def test_login_rate_limit_per_email(strict_server: RunningServer, db: asyncpg.Pool) -> None:
    email = _email()
    async with httpx.AsyncClient(base_url=strict_server.base_url) as client:
        await _signup(client, email)

        async def attempt(password: str, address: str, who: str = email) -> httpx.Response:
            # uvicorn trusts X-Forwarded-For from 127.0.0.1: each test has its own "address".
            return await client.post(
                "/api/auth/login",
                json={"email": who, "password": password},
                headers={"x-forwarded-for": address},
            )

        for i in range(3):
            assert_error(await attempt("mauvais", f"10.2.0.{i}"), 401, "bad_credentials")
        # Even the right password waits now, from any address, whatever the email's case.
        response = await attempt(PASSWORD, "10.2.0.9", email.upper())
        assert_error(response, 429, "too_many_attempts")
        # Failures are recorded by key (address, email), never with the password.
        keys = {r["key"] for r in await db.fetch("SELECT key FROM login_failures")}
        assert f"email:{email.lower()}" in keys and "ip:10.2.0.0" in keys
        # A minute later it works again.
        await db.execute(
            "UPDATE login_failures SET failed_at = failed_at - interval '61 seconds' "
            "WHERE key = $1",
            f"email:{email.lower()}",
        )
        assert (await attempt(PASSWORD, "10.2.0.10")).status_code == 200


async def test_login_rate_limit_per_address(strict_server: RunningServer) -> None:
    email = _email()
    async with httpx.AsyncClient(base_url=strict_server.base_url) as client:
        await _signup(client, email)
        headers = {"x-forwarded-for": "10.3.0.1"}
        for _ in range(3):
            response = await client.post(
                "/api/auth/login", json={"email": _email(), "password": "x"}, headers=headers
            )
            assert_error(response, 401)
        response = await client.post(
            "/api/auth/login", json={"email": email, "password": PASSWORD}, headers=headers
        )
        assert_error(response, 429, "too_many_attempts")
        response = await client.post(
            "/api/auth/login",
            json={"email": email, "password": PASSWORD},
            headers={"x-forwarded-for": "10.3.0.2"},
        )
        assert response.status_code == 200, response.text


async def test_csrf_on_cookie_sessions(people: People) -> None:
    browser = people.client()
    csrf = (await _signup(browser, _email()))["csrf_token"]
    ours = people.server.base_url
    body = {"title": "Carnet du navigateur"}
    # Reading needs no proof.
    assert (await browser.get("/api/carnets")).status_code == 200
    for headers in (
        {},
        {"x-csrf-token": "faux"},
        {"origin": "https://attaquant.example"},
        {"origin": "null"},
        {"origin": ours + ".attaquant.example"},
    ):
        response = await browser.post("/api/carnets", json=body, headers=headers)
        assert_error(response, 403, "csrf")
    assert (await browser.get("/api/carnets", params={"scope": "mine"})).json()["total"] == 0
    response = await browser.post("/api/carnets", json=body, headers={"x-csrf-token": csrf})
    assert response.status_code == 201, response.text
    carnet_id = response.json()["id"]
    response = await browser.post("/api/carnets", json=body, headers={"origin": ours})
    assert response.status_code == 201, response.text
    # Every unsafe method is checked.
    response = await browser.patch(f"/api/carnets/{carnet_id}", json={"title": "X"})
    assert_error(response, 403, "csrf")
    assert_error(await browser.delete(f"/api/carnets/{carnet_id}"), 403, "csrf")
    assert_error(await browser.post("/api/auth/logout"), 403, "csrf")
    response = await browser.delete(f"/api/carnets/{carnet_id}", headers={"x-csrf-token": csrf})
    assert response.status_code == 204


async def test_api_tokens(cast: Cast) -> None:
    alice = await cast("alice")
    response = await alice.client.post("/api/auth/tokens", json={"label": "Script d’import"})
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["label"] == "Script d’import" and made["token"].startswith("ct_")
    client = cast.people.client(headers={"authorization": f"Bearer {made['token']}"})
    me = await client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == {"user": me.json()["user"], "csrf_token": None}
    assert me.json()["user"]["id"] == alice.id
    tokens = {t["id"]: t for t in (await alice.client.get("/api/auth/tokens")).json()}
    assert tokens[made["id"]]["last_used_at"] is not None
    assert tokens[made["id"]]["revoked_at"] is None
    assert "token" not in tokens[made["id"]] and made["token"] not in str(tokens)
    # Bearer requests need no CSRF proof: a browser never sends them by itself.
    assert (await new_carnet(client))["my_role"] == "manager"

    # Somebody else cannot revoke it.
    bruno = await cast("bruno")
    assert_error(await bruno.client.delete(f"/api/auth/tokens/{made['id']}"), 404)
    assert (await alice.client.delete(f"/api/auth/tokens/{made['id']}")).status_code == 204
    # Revoked: refused at once, even where anonymous visitors are welcome.
    assert_error(await client.get("/api/auth/me"), 401, "invalid_token")
    assert_error(await client.get("/api/carnets"), 401, "invalid_token")
    assert_error(await alice.client.delete(f"/api/auth/tokens/{made['id']}"), 404)
    for header in ("Bearer ct_inconnu", "Bearer", "Basic YWxpY2U6c2VjcmV0", "ct_sans_schema"):
        stranger = cast.people.client(headers={"authorization": header})
        assert_error(await stranger.get("/api/carnets"), 401, "invalid_token")
    assert_error(await alice.client.post("/api/auth/tokens", json={"label": ""}), 400)


async def test_me_needs_someone(cast: Cast) -> None:
    assert_error(await cast.anonymous.get("/api/auth/me"), 401, "unauthenticated")
    assert_error(await cast.anonymous.post("/api/carnets", json={"title": "X"}), 401)
    assert_error(await cast.anonymous.get("/api/auth/tokens"), 401)


# Error bodies -------------------------------------------------------------------------


async def test_errors_speak_the_readers_language(cast: Cast) -> None:
    anonymous = cast.anonymous
    path = "/api/carnets/abcdefabcdef"
    french = await anonymous.get(path)
    assert_error(french, 404, "not_found")
    body = french.json()
    assert body["detail"] == body["messages"]["fr"] == "Introuvable"
    assert body["messages"]["en"] == "Not found"
    assert french.headers["content-type"].startswith("application/json")
    for headers in (
        {"accept-language": "en"},
        {"accept-language": "en-CA,en;q=0.9"},
        {"accept-language": "fr;q=0.4, en;q=0.8"},
        {"accept-language": "fr", "cookie": "carnet_lang=en"},  # the reader's choice wins
    ):
        english = await anonymous.get(path, headers=headers)
        assert english.json()["detail"] == "Not found", headers
    for headers in ({"accept-language": "de"}, {"accept-language": "en;q=0.1, fr"}):
        assert (await anonymous.get(path, headers=headers)).json()["detail"] == "Introuvable"
    # Litestar's own errors (routing, validation, methods) get the same body.
    for response in (
        await anonymous.get("/api/nowhere", headers={"accept-language": "en"}),
        await anonymous.put(path, headers={"accept-language": "en"}),
        await anonymous.get(
            "/api/carnets", params={"limit": "x"}, headers={"accept-language": "en"}
        ),
    ):
        body = response.json()
        assert response.status_code in (400, 404, 405)
        assert body["detail"] == body["messages"]["en"] and body["code"]


async def test_no_stack_trace_ever_reaches_a_client(cast: Cast, db: asyncpg.Pool) -> None:
    """A failure the code does not expect: a 500 that tells nothing, and nothing saved."""
    alice = await cast("alice")
    carnet = await new_carnet(alice.client, visibility="public")
    note = await new_note(alice.client, carnet["id"])
    marker = f"boom-{secrets.token_hex(4)}"
    # After the insert, so that the request has written something when it fails.
    await db.execute(
        f"""
        CREATE FUNCTION fail_{marker.replace("-", "_")}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.body = '{marker}' THEN
                RAISE EXCEPTION 'internal detail: table comments, secret %', NEW.id;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fail_{marker.replace("-", "_")} AFTER INSERT ON comments
            FOR EACH ROW EXECUTE FUNCTION fail_{marker.replace("-", "_")}();
        """
    )
    try:
        response = await alice.client.post(
            f"/api/notes/{note['id']}/comments",
            json={"body": marker},
            headers={"accept-language": "en"},
        )
    finally:
        await db.execute(f"DROP TRIGGER fail_{marker.replace('-', '_')} ON comments")
        await db.execute(f"DROP FUNCTION fail_{marker.replace('-', '_')}()")
    assert_error(response, 500, "internal_error")
    assert response.json()["detail"].startswith("Internal server error")
    for leak in ("Traceback", "internal detail", "secret", "asyncpg", "comments", ".py"):
        assert leak not in response.text
    assert await db.fetchval("SELECT count(*) FROM comments WHERE body = $1", marker) == 0


async def test_refused_requests_give_their_connection_back(
    people: People, db: asyncpg.Pool
) -> None:
    """Refusals raised while resolving dependencies (after the request's transaction
    began) must not keep a pooled connection: three times the pool, then still served."""
    browser = people.client()
    await _signup(browser, _email())
    anonymous = people.client()
    rounds = 3 * people.server.settings.db_pool_size

    async def refusals() -> None:
        for _ in range(rounds):
            assert_error(await anonymous.post("/api/carnets", json={"title": "X"}), 401)
            assert_error(await browser.post("/api/carnets", json={"title": "X"}), 403, "csrf")
        assert (await anonymous.get("/api/carnets")).status_code == 200

    await asyncio.wait_for(refusals(), 30)
    stuck = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND state = 'idle in transaction'"
    )
    assert stuck == 0
