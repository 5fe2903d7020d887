"""Resolving who sends a request, and refusing forged cross-site ones.

Browsers authenticate with the session cookie, scripts with
``Authorization: Bearer <token>``. A cookie is sent by the browser whatever
page triggers the request, so an unsafe request authenticated by cookie must
also prove it comes from one of our pages: an ``Origin`` header that is ours,
or an ``X-CSRF-Token`` header (or ``csrf_token`` form field) derived from the
session. Bearer tokens are never sent implicitly and need neither.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from carnet.errors import AppError
from carnet.models import User
from carnet.storage import accounts

SESSION_COOKIE = "carnet_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request or a socket (``user`` is None when anonymous)."""

    user: User | None = None
    session_token: str | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user else None


ANONYMOUS = Viewer()


def invalid_token() -> AppError:
    return AppError(
        401, "invalid_token", "Jeton d’accès invalide ou révoqué.", "Invalid or revoked token."
    )


async def identify(
    conn: asyncpg.Connection, headers: Mapping[str, str], cookies: Mapping[str, str]
) -> Viewer:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise invalid_token()
        user = await accounts.user_for_token(conn, secret.strip())
        if user is None:
            raise invalid_token()
        return Viewer(user=user)
    session_token = cookies.get(SESSION_COOKIE)
    if session_token:
        user = await accounts.user_for_session(conn, session_token)
        if user is not None:
            return Viewer(user=user, session_token=session_token)
    # A stale or unknown cookie is just an anonymous visit.
    return ANONYMOUS


def csrf_token(secret_key: str, session_token: str) -> str:
    digest = hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def origin_allowed(origin: str | None, allowed: frozenset[str]) -> bool:
    return origin is not None and origin.rstrip("/") in allowed


def check_csrf(
    viewer: Viewer,
    *,
    method: str,
    headers: Mapping[str, str],
    form_token: str | None,
    secret_key: str,
    allowed_origins: frozenset[str],
) -> None:
    if method in SAFE_METHODS or viewer.session_token is None:
        return
    if origin_allowed(headers.get("origin"), allowed_origins):
        return
    expected = csrf_token(secret_key, viewer.session_token)
    offered = headers.get(CSRF_HEADER) or form_token or ""
    if hmac.compare_digest(offered.encode(), expected.encode()):
        return
    raise AppError(
        403,
        "csrf",
        "Requête refusée : elle ne vient pas d’une page de Carnet. Rechargez la page.",
        "Request refused: it does not come from a Carnet page. Reload the page.",
    )
