"""The pages people open: server-rendered shells around the bundle in ``static/dist``.

Each page renders what it can in HTML (titles, forms, lists) and hands the
rest to its script as JSON in a ``<script type="application/json">`` block:
the scripts draw the live parts (the editor, a carnet growing) and talk to
the JSON API and the sockets. Sign-in, sign-up, sign-out, the language switch
and accepting an invitation are plain HTML forms and links that work before
(or without) any script.

Everything a person wrote is escaped by Jinja's autoescape in HTML, and by
:func:`json_for_html` inside the JSON blocks.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template
from markupsafe import Markup

from carnet.api.auth import session_cookie, sign_in
from carnet.api.dependencies import AppDatabase, AppSettings, Conn, CurrentViewer
from carnet.api.schemas import PathId, PathSecret
from carnet.auth import passwords
from carnet.auth.identity import SESSION_COOKIE, Viewer, csrf_token, origin_allowed
from carnet.config import Settings
from carnet.dates import format_span
from carnet.errors import AppError
from carnet.events import AccessChanged, EventBus
from carnet.i18n import LANGUAGE_COOKIE, Language, request_language
from carnet.models import NoteStatus, Role
from carnet.pages.strings import strings
from carnet.permissions import Action, Verdict, decide
from carnet.storage import accounts, carnets, notes
from carnet.storage.access import carnet_access, note_access

AnyRequest = Request[object, object, State]
FormData = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]

MIN_PASSWORD = 8
LIST_LIMIT = 200


def json_for_html(value: object) -> Markup:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&``."""
    text = json.dumps(msgspec.to_builtins(value), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)  # noqa: S704 - escaped just above


def safe_next(target: str | None) -> str:
    """A local path to go to after a form, never another site."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _language(request: AnyRequest) -> Language:
    return request_language(request.headers, request.cookies)


def _page(
    request: AnyRequest,
    settings: Settings,
    viewer: Viewer,
    template: str,
    *,
    title: str,
    script: str = "base",
    data: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    language = _language(request)
    token = viewer.session_token
    user = viewer.user
    page_data: dict[str, Any] = {
        "lang": language,
        "user": {"id": user.id, "name": user.name} if user else None,
        "csrf": csrf_token(settings.secret_key, token) if token else None,
        **(data or {}),
    }
    path = request.url.path
    if request.url.query:
        path += "?" + request.url.query
    return Template(
        template_name=template,
        status_code=status_code,
        context={
            "lang": language,
            "t": strings(language),
            "title": title,
            "script": script,
            "user": user,
            "csrf": page_data["csrf"],
            "here": quote(path, safe="/"),
            "signup_enabled": settings.signup_enabled,
            "data_json": json_for_html(page_data),
            **context,
        },
    )


def _not_found(request: AnyRequest, settings: Settings, viewer: Viewer) -> Template:
    t = strings(_language(request))
    return _page(request, settings, viewer, "error.html", title=t.not_found, status_code=404)


def _form_from_elsewhere(request: AnyRequest, settings: Settings) -> bool:
    """A form posted by another site (browsers send ``Origin`` with every form POST)."""
    origin = request.headers.get("origin")
    return origin is not None and origin != "null" and not origin_allowed(origin, settings.origins)


def _login_redirect(request: AnyRequest) -> Redirect:
    return Redirect(path="/login?next=" + quote(request.url.path, safe="/"), status_code=303)


class PageController(Controller):
    include_in_schema = False

    # Home ------------------------------------------------------------------------

    @get("/")
    async def home(
        self, request: AnyRequest, conn: Conn, viewer: CurrentViewer, settings: AppSettings
    ) -> Template:
        language = _language(request)
        t = strings(language)
        mine = viewer.user is not None
        found, _ = await carnets.list_carnets(
            conn, viewer.user_id, mine=mine, limit=LIST_LIMIT, offset=0
        )
        listed = [
            {
                "carnet": carnet,
                "dates": format_span(carnet.event_start, carnet.event_end, language),
            }
            for carnet in found
        ]
        return _page(
            request,
            settings,
            viewer,
            "home.html",
            title=t.home if mine else t.public_carnets,
            script="home",
            carnets=listed,
            mine=mine,
        )

    # Accounts ----------------------------------------------------------------------

    @get("/login")
    async def login_form(
        self,
        request: AnyRequest,
        viewer: CurrentViewer,
        settings: AppSettings,
    ) -> Template:
        t = strings(_language(request))
        target = safe_next(request.query_params.get("next"))
        return _page(request, settings, viewer, "login.html", title=t.login, next=target)

    @post("/login", status_code=303)
    async def login_submit(
        self,
        request: AnyRequest,
        database: AppDatabase,
        settings: AppSettings,
        data: FormData,
    ) -> Template | Redirect:
        language = _language(request)
        t = strings(language)
        target = safe_next(data.get("next"))
        email = data.get("email", "")[:254]
        password = data.get("password", "")[:1024]
        error: str | None = None
        if _form_from_elsewhere(request, settings):
            error = t.foreign_form
        elif not email or not password:
            error = t.fields_missing
        else:
            host = request.client.host if request.client else "unknown"
            try:
                user = await sign_in(database, settings, host, email, password)
            except AppError as failure:
                error = failure.en if language == "en" else failure.fr
            else:
                async with database.transaction() as conn:
                    token = await accounts.create_session(
                        conn, user.id, lifetime=timedelta(days=settings.session_days)
                    )
                return Redirect(
                    path=target, status_code=303, cookies=[session_cookie(settings, token)]
                )
        return _page(
            request,
            settings,
            Viewer(),
            "login.html",
            title=t.login,
            next=target,
            email=email,
            error=error,
            status_code=400,
        )

    @get("/signup")
    async def signup_form(
        self, request: AnyRequest, viewer: CurrentViewer, settings: AppSettings
    ) -> Template:
        t = strings(_language(request))
        target = safe_next(request.query_params.get("next"))
        return _page(request, settings, viewer, "signup.html", title=t.signup, next=target)

    @post("/signup", status_code=303)
    async def signup_submit(
        self,
        request: AnyRequest,
        database: AppDatabase,
        settings: AppSettings,
        data: FormData,
    ) -> Template | Redirect:
        language = _language(request)
        t = strings(language)
        target = safe_next(data.get("next"))
        email = data.get("email", "").strip()[:254]
        name = data.get("name", "").strip()[:120]
        password = data.get("password", "")[:1024]
        error: str | None = None
        if not settings.signup_enabled:
            error = t.signup_closed
        elif _form_from_elsewhere(request, settings):
            error = t.foreign_form
        elif not email or not name or not password or "@" not in email or "\x00" in name + email:
            error = t.fields_missing
        elif len(password) < MIN_PASSWORD:
            error = t.password_short
        else:
            password_hash = await passwords.hash_password(password)
            try:
                async with database.transaction() as conn:
                    user = await accounts.create_user(
                        conn, email=email, name=name, password_hash=password_hash
                    )
                    token = await accounts.create_session(
                        conn, user.id, lifetime=timedelta(days=settings.session_days)
                    )
            except AppError as failure:
                error = failure.en if language == "en" else failure.fr
            else:
                return Redirect(
                    path=target, status_code=303, cookies=[session_cookie(settings, token)]
                )
        return _page(
            request,
            settings,
            Viewer(),
            "signup.html",
            title=t.signup,
            next=target,
            email=email,
            name=name,
            error=error,
            status_code=400,
        )

    @post("/logout", status_code=303)
    async def logout(
        self,
        request: AnyRequest,
        database: AppDatabase,
        settings: AppSettings,
        data: FormData,
    ) -> Redirect:
        token = request.cookies.get(SESSION_COOKIE)
        expected = csrf_token(settings.secret_key, token) if token else ""
        same_site = origin_allowed(request.headers.get("origin"), settings.origins)
        if token and (same_site or data.get("csrf_token") == expected):
            async with database.transaction() as conn:
                user_id = await accounts.delete_session(conn, token)
            if user_id is not None:
                # Sockets opened with this session close at once.
                bus: EventBus = request.app.state.bus
                bus.publish(AccessChanged(user_id=user_id))
        return Redirect(path="/", status_code=303, cookies=[session_cookie(settings, None)])

    @get("/lang/{language:str}")
    async def switch_language(self, request: AnyRequest, language: FromPath[str]) -> Redirect:
        """Remember the reader's language (a year) and go back where they were."""
        chosen = "en" if language == "en" else "fr"
        target = safe_next(request.query_params.get("next"))
        cookie = Cookie(
            key=LANGUAGE_COOKIE,
            value=chosen,
            max_age=365 * 86400,
            httponly=False,
            samesite="lax",
            path="/",
        )
        return Redirect(path=target, status_code=303, cookies=[cookie])

    # Invitations ---------------------------------------------------------------------

    @get("/invitations/{token:str}")
    async def invitation(
        self,
        request: AnyRequest,
        viewer: CurrentViewer,
        settings: AppSettings,
        token: PathSecret,
    ) -> Template:
        t = strings(_language(request))
        return _page(
            request, settings, viewer, "invitation.html", title=t.invitation_title, token=token
        )

    @post("/invitations/{token:str}", status_code=303)
    async def accept_invitation(
        self,
        request: AnyRequest,
        conn: Conn,
        viewer: CurrentViewer,
        settings: AppSettings,
        token: PathSecret,
        data: FormData,
    ) -> Template | Redirect:
        # ``viewer`` already checked the form's Origin or its token (CSRF).
        language = _language(request)
        t = strings(language)
        if viewer.user is None:
            return _login_redirect(request)
        try:
            carnet_id, _ = await carnets.accept_invitation(conn, token, viewer.user.id)
        except AppError as failure:
            return _page(
                request,
                settings,
                viewer,
                "invitation.html",
                title=t.invitation_title,
                token=token,
                error=failure.en if language == "en" else failure.fr,
                status_code=failure.status,
            )
        return Redirect(path=f"/carnets/{carnet_id}", status_code=303)

    # A carnet --------------------------------------------------------------------------

    @get("/carnets/{carnet_id:str}")
    async def carnet(
        self,
        request: AnyRequest,
        conn: Conn,
        viewer: CurrentViewer,
        settings: AppSettings,
        carnet_id: PathId,
    ) -> Template | Redirect:
        access = await carnet_access(conn, carnet_id, viewer.user_id)
        if access is None or decide(Action.CARNET_VIEW, access) is not Verdict.ALLOW:
            return _not_found(request, settings, viewer)
        carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
        if carnet is None:
            return _not_found(request, settings, viewer)
        member = access.role is not None
        listed, total = await notes.list_carnet_notes(
            conn,
            carnet_id,
            viewer.user_id,
            member=member,
            filters={},
            limit=LIST_LIMIT,
            offset=0,
        )
        language = _language(request)
        return _page(
            request,
            settings,
            viewer,
            "carnet.html",
            title=carnet.title,
            script="carnet",
            carnet=carnet,
            dates=format_span(carnet.event_start, carnet.event_end, language),
            data={
                "carnet": carnet,
                "notes": listed,
                "total": total,
                "role": access.role,
                "can_contribute": decide(Action.CARNET_CONTRIBUTE, access) is Verdict.ALLOW,
                "can_arrange": decide(Action.NOTES_ARRANGE, access) is Verdict.ALLOW,
            },
        )

    # A note ------------------------------------------------------------------------------

    @get("/notes/{note_id:str}")
    async def note(
        self,
        request: AnyRequest,
        conn: Conn,
        viewer: CurrentViewer,
        settings: AppSettings,
        note_id: PathId,
    ) -> Template | Redirect:
        found = await note_access(conn, note_id, viewer.user_id)
        if found is None or decide(Action.NOTE_VIEW, found[0]) is not Verdict.ALLOW:
            return _not_found(request, settings, viewer)
        access, status = found
        note = await notes.get_note(conn, note_id, viewer.user_id)
        if note is None:
            return _not_found(request, settings, viewer)
        places = []
        for place in note.carnets:
            carnet = await carnets.get_carnet(conn, place.carnet_id, viewer.user_id)
            if carnet is not None:
                places.append(
                    {
                        "id": carnet.id,
                        "title": carnet.title,
                        "categories": carnet.categories,
                        "my_role": carnet.my_role,
                        "category": place.category,
                    }
                )
        may_edit = decide(Action.NOTE_EDIT, access) is Verdict.ALLOW
        return _page(
            request,
            settings,
            viewer,
            "note.html",
            title=note.title,
            script="note",
            note=note,
            data={
                "note": note,
                "carnets": places,
                "may_edit": may_edit,
                "can_edit": may_edit and status is NoteStatus.DRAFT,
                "can_transition": decide(Action.NOTE_TRANSITION, access) is Verdict.ALLOW,
                "can_manage_authors": decide(Action.AUTHORS_MANAGE, access) is Verdict.ALLOW,
                "can_comment": decide(Action.COMMENT_CREATE, access) is Verdict.ALLOW,
                "manager": access.at_least(Role.MANAGER),
            },
        )
