"""Signing in and out, signing up, API tokens, joining by invitation."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie, State
from litestar.params import JSONBody

from carnet.api.dependencies import (
    AppDatabase,
    AppSettings,
    Conn,
    CurrentUser,
    CurrentViewer,
    EventOutbox,
)
from carnet.api.schemas import (
    Joined,
    Login,
    NewToken,
    PathId,
    PathSecret,
    Session,
    Signup,
    TokenRequest,
)
from carnet.auth import passwords
from carnet.auth.identity import SESSION_COOKIE, csrf_token
from carnet.config import Settings
from carnet.errors import AppError, not_found
from carnet.events import AccessChanged
from carnet.models import ApiToken, User
from carnet.storage import Database, accounts, carnets

_LOGIN_WINDOW = timedelta(minutes=1)


def _bad_credentials() -> AppError:
    return AppError(
        401,
        "bad_credentials",
        "Adresse courriel ou mot de passe incorrect.",
        "Wrong email address or password.",
    )


def session_cookie(settings: Settings, token: str | None) -> Cookie:
    """The session cookie (``token`` None clears it)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        max_age=settings.session_days * 86400 if token else 0,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )


async def open_session(
    conn: asyncpg.Connection, settings: Settings, user: User, status_code: int
) -> Response[Session]:
    token = await accounts.create_session(
        conn, user.id, lifetime=timedelta(days=settings.session_days)
    )
    return Response(
        Session(user=user, csrf_token=csrf_token(settings.secret_key, token)),
        status_code=status_code,
        cookies=[session_cookie(settings, token)],
    )


async def sign_in(
    database: Database, settings: Settings, client_host: str, email: str, password: str
) -> User:
    """Check credentials, with a limit on failures per address and per email.

    Runs outside the request's transaction: a failure must be recorded even
    though the request fails.
    """
    keys = [f"ip:{client_host}", f"email:{email.strip().lower()}"]
    async with database.connection() as conn:
        failures = await accounts.recent_login_failures(conn, keys, _LOGIN_WINDOW)
        if failures >= settings.login_attempts_per_minute:
            raise AppError(
                429,
                "too_many_attempts",
                "Trop de tentatives de connexion. Réessayez dans une minute.",
                "Too many sign-in attempts. Try again in a minute.",
            )
        found = await accounts.password_hash_for(conn, email.strip())
    # The connection goes back to the pool while Argon2 works (tens of ms of CPU).
    stored_hash = found[1] if found else None
    if found is None or not await passwords.verify_password(stored_hash, password):
        async with database.connection() as conn:
            await accounts.record_login_failure(conn, keys)
        raise _bad_credentials()
    return found[0]


class AuthController(Controller):
    path = "/api/auth"
    tags = ["auth"]

    @post("/login", status_code=200)
    async def login(
        self,
        request: Request[object, object, State],
        database: AppDatabase,
        settings: AppSettings,
        data: JSONBody[Login],
    ) -> Response[Session]:
        """Sign in; sets the session cookie and returns the CSRF token for scripts in pages."""
        host = request.client.host if request.client else "unknown"
        user = await sign_in(database, settings, host, data.email, data.password)
        # No request-wide transaction here (no ``Conn``): holding one while
        # sign_in waited for a second pooled connection let a burst of sign-ins
        # take every connection of the pool and wait for each other forever.
        async with database.transaction() as conn:
            return await open_session(conn, settings, user, 200)

    @post("/logout", status_code=204)
    async def logout(
        self, conn: Conn, settings: AppSettings, viewer: CurrentViewer, outbox: EventOutbox
    ) -> Response[None]:
        """End this session; sockets opened with it close at once."""
        if viewer.session_token:
            await accounts.delete_session(conn, viewer.session_token)
            outbox.add(AccessChanged(user_id=viewer.user_id))
        return Response(None, status_code=204, cookies=[session_cookie(settings, None)])

    @post("/signup")
    async def signup(
        self, conn: Conn, settings: AppSettings, data: JSONBody[Signup]
    ) -> Response[Session]:
        if not settings.signup_enabled:
            raise AppError(
                403,
                "signup_disabled",
                "Les inscriptions sont fermées sur ce serveur.",
                "Sign-up is closed on this server.",
            )
        password_hash = await passwords.hash_password(data.password)
        user = await accounts.create_user(
            conn, email=data.email.strip(), name=data.name.strip(), password_hash=password_hash
        )
        return await open_session(conn, settings, user, 201)

    @get("/me")
    async def me(self, viewer: CurrentViewer, user: CurrentUser, settings: AppSettings) -> Session:
        token = viewer.session_token
        return Session(
            user=user, csrf_token=csrf_token(settings.secret_key, token) if token else None
        )

    @get("/tokens")
    async def list_tokens(self, conn: Conn, user: CurrentUser) -> list[ApiToken]:
        return await accounts.list_tokens(conn, user.id)

    @post("/tokens")
    async def create_token(
        self, conn: Conn, user: CurrentUser, data: JSONBody[TokenRequest]
    ) -> NewToken:
        """A new API token; its secret is shown once, here."""
        token, secret = await accounts.create_token(conn, user.id, data.label)
        return NewToken(id=token.id, label=token.label, token=secret)

    @delete("/tokens/{token_id:str}")
    async def revoke_token(
        self,
        conn: Conn,
        user: CurrentUser,
        outbox: EventOutbox,
        token_id: PathId,
    ) -> None:
        """Revoke a token; sockets opened with it close at once."""
        if not await accounts.revoke_token(conn, token_id, user_id=user.id):
            raise not_found()
        outbox.add(AccessChanged(user_id=user.id))


class InvitationController(Controller):
    path = "/api/invitations"
    tags = ["carnets"]

    @post("/{token:str}/accept", status_code=200)
    async def accept(
        self,
        conn: Conn,
        user: CurrentUser,
        token: PathSecret,
    ) -> Joined:
        carnet_id, role = await carnets.accept_invitation(conn, token, user.id)
        return Joined(carnet_id=carnet_id, role=role)
