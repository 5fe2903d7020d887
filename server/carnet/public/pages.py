"""Server-rendered public pages: the published note, feeds, sitemap and robots.txt.

``/n/{note_id}`` is readable without JavaScript; its only script is a small
external file (copy the citation, share the link), so it works under a
Content-Security-Policy without inline scripts. JSON-LD is a data block, not
a script that runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from markupsafe import Markup

from carnet.api.dependencies import AppSettings, Conn, CurrentViewer
from carnet.api.schemas import PathId
from carnet.auth.identity import check_csrf, csrf_token, identify
from carnet.authorize import authorize_carnet, authorize_note
from carnet.errors import AppError, not_found
from carnet.i18n import Language, request_language
from carnet.permissions import Action
from carnet.public import feeds
from carnet.public.citations import praxis
from carnet.public.hooks import after_comment
from carnet.public.messages import messages
from carnet.public.templating import (
    STATIC,
    STATIC_PATH,
    json_for_script,
    licence_url,
    render_template,
)
from carnet.public.views import NoteView, permalink, published_view
from carnet.render import render
from carnet.storage import accounts, carnets, comments, notes, publications
from carnet.storage.publications import Publication
from carnet.sync.history import doc_from_state

HTML = "text/html; charset=utf-8"

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-content-type-options": "nosniff",
}


def _language(request: Request[Any, Any, State]) -> Language:
    chosen = request.query_params.get("lang")
    if chosen in ("fr", "en"):
        return "en" if chosen == "en" else "fr"
    return request_language(request.headers, request.cookies)


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=HTML, headers=SECURITY_HEADERS)


def _error_page(language: Language, status: int, note_id: str, insider_edit: bool) -> Response[str]:
    t = messages(language)
    key = "gone" if status == 410 else "not_found"
    return _html(
        render_template(
            "error.html",
            t=t,
            lang=language,
            title=t[f"{key}_title"],
            text=t[f"{key}_text"],
            edit_url=f"/notes/{note_id}" if insider_edit else None,
        ),
        status,
    )


def json_ld(view: NoteView, base_url: str, language: Language) -> dict[str, Any]:
    assert view.publication is not None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle" if view.type == "note" else "CreativeWork",
        "@id": view.url,
        "url": view.url,
        "mainEntityOfPage": view.url,
        "headline": view.title[:110],
        "name": view.title,
        "author": [{"@type": "Person", "name": author.name} for author in view.authors],
        "dateCreated": view.created_at.isoformat(),
        "datePublished": view.publication.first_published_at.isoformat(),
        "dateModified": view.publication.published_at.isoformat(),
        "version": str(view.publication.version),
        "inLanguage": "fr",
        "isAccessibleForFree": True,
        "license": licence_url(view.licence, None) or view.licence,
        "publisher": {"@type": "Organization", "name": "Carnet", "url": base_url},
        "description": view.publication.summary,
        "isPartOf": [
            {
                "@type": "Collection",
                "name": place.carnet_title,
                "url": f"{base_url}/carnets/{place.carnet_id}",
            }
            for place in view.places
        ],
    }
    if view.categories:
        data["keywords"] = ", ".join(view.categories)
    return data


@get("/n/{note_id:str}", name="published-note", include_in_schema=False)
async def published_note(
    request: Request[Any, Any, State],
    conn: Conn,
    viewer: CurrentViewer,
    settings: AppSettings,
    note_id: PathId,
) -> Response[str]:
    """The published version of a note (404 if it may not be read or was never
    published, 410 once withdrawn)."""
    language = _language(request)
    base_url = settings.base_url.rstrip("/")
    try:
        view = await published_view(conn, note_id, viewer.user_id, base_url)
    except AppError as error:
        if error.status not in (404, 410):
            raise
        insider = False
        if error.status == 410:
            found = await notes.get_note(conn, note_id, viewer.user_id)
            insider = (
                found is not None
                and viewer.user_id is not None
                and any(a.id == viewer.user_id for a in found.authors)
            )
        return _error_page(language, error.status, note_id, insider)
    assert view.publication is not None
    t = messages(language)
    thread, _ = await comments.list_comments(conn, note_id, limit=500, offset=0)
    history = await publications.history(conn, note_id)
    html_body = view.body("html")
    cited = view.cited()
    return _html(
        render_template(
            "note.html",
            t=t,
            lang=language,
            other_lang="fr" if language == "en" else "en",
            view=view,
            body=Markup(html_body),  # noqa: S704 - the renderer escapes and sanitizes
            description=view.publication.summary,
            citation=praxis(cited, language),
            licence_href=licence_url(view.licence, language),
            json_ld=json_for_script(json_ld(view, base_url, language)),
            comments=thread,
            history=history,
            signed_in=viewer.user is not None,
            csrf=csrf_token(settings.secret_key, viewer.session_token)
            if viewer.session_token
            else None,
            draft_in_progress=view.status != "published",
            edit_url=f"/notes/{note_id}" if view.insider else None,
            login_url=f"/login?next={quote('/n/' + note_id)}",
            base_url=base_url,
            share_mailto=f"mailto:?subject={quote(view.title)}&body={quote(view.url)}",
            static_path=STATIC_PATH,
        )
    )


@post("/n/{note_id:str}/comments", name="published-note-comment", include_in_schema=False)
async def post_comment(
    request: Request[Any, Any, State], conn: Conn, settings: AppSettings, note_id: PathId
) -> Response[Any]:
    """The discussion form of the published page (works without JavaScript)."""
    form = await request.form()
    viewer = await identify(conn, request.headers, request.cookies)
    token = form.get("csrf_token")
    check_csrf(
        viewer,
        method="POST",
        headers=request.headers,
        form_token=token if isinstance(token, str) else None,
        secret_key=settings.secret_key,
        allowed_origins=settings.origins,
    )
    if viewer.user is None:
        return Redirect(f"/login?next={quote('/n/' + note_id)}", status_code=303)
    await published_view(conn, note_id, viewer.user_id, settings.base_url)
    await authorize_note(conn, note_id, viewer.user_id, Action.COMMENT_CREATE)
    body = form.get("body")
    text = body.strip() if isinstance(body, str) else ""
    if not text or len(text) > 10_000 or "\x00" in text:
        raise AppError(
            400,
            "invalid_comment",
            "Le commentaire est vide ou trop long.",
            "The comment is empty or too long.",
        )
    made = await comments.create_comment(conn, note_id, viewer.user.id, text)
    await after_comment(conn, note_id, made.id, viewer.user.id)
    return Redirect(f"/n/{note_id}#comment-{made.id}", status_code=303)


# Feeds ---------------------------------------------------------------------------------------


async def _entries(
    conn: Conn, found: list[Publication], user_id: str | None, base_url: str
) -> list[feeds.FeedEntry]:
    entries = []
    for publication in found:
        state = await publications.publication_state(conn, publication.revision_id)
        places = await publications.places(conn, publication.note_id, user_id)
        url = permalink(base_url, publication.note_id)
        entries.append(
            feeds.FeedEntry(
                id=url,
                title=publication.title,
                link=url,
                published=publication.first_published_at,
                updated=publication.published_at,
                authors=[author.name for author in publication.authors],
                content_html=render(doc_from_state(state), "html"),
                summary=publication.summary,
                categories=list(dict.fromkeys(p.category for p in places if p.category)),
            )
        )
    return entries


def _atom(body: bytes) -> Response[bytes]:
    return Response(
        body, media_type=feeds.MEDIA_TYPE, headers={"x-content-type-options": "nosniff"}
    )


FEED_SIZE = 50


@get("/feed.atom", name="site-feed", include_in_schema=False)
async def site_feed(
    request: Request[Any, Any, State], conn: Conn, viewer: CurrentViewer, settings: AppSettings
) -> Response[bytes]:
    """The latest published notes of the whole site."""
    base = settings.base_url.rstrip("/")
    t = messages(_language(request))
    found = await publications.list_current(conn, viewer.user_id, limit=FEED_SIZE)
    return _atom(
        feeds.atom_feed(
            feed_id=f"{base}/feed.atom",
            title=f"Carnet — {t['notes']}",
            self_url=f"{base}/feed.atom",
            alternate_url=f"{base}/",
            entries=await _entries(conn, found, viewer.user_id, base),
        )
    )


@get("/carnets/{carnet_id:str}/feed.atom", name="carnet-atom-feed", include_in_schema=False)
async def carnet_atom(
    conn: Conn, viewer: CurrentViewer, settings: AppSettings, carnet_id: PathId
) -> Response[bytes]:
    """The published notes of one carnet."""
    await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_VIEW)
    carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
    assert carnet is not None
    base = settings.base_url.rstrip("/")
    found = await publications.list_current(
        conn, viewer.user_id, carnet_id=carnet_id, limit=FEED_SIZE
    )
    return _atom(
        feeds.atom_feed(
            feed_id=f"{base}/carnets/{carnet_id}/feed.atom",
            title=carnet.title,
            subtitle=carnet.description or carnet.event_name,
            self_url=f"{base}/carnets/{carnet_id}/feed.atom",
            alternate_url=f"{base}/carnets/{carnet_id}",
            entries=await _entries(conn, found, viewer.user_id, base),
        )
    )


@get("/authors/{user_id:str}/feed.atom", name="author-atom-feed", include_in_schema=False)
async def author_atom(
    request: Request[Any, Any, State],
    conn: Conn,
    viewer: CurrentViewer,
    settings: AppSettings,
    user_id: PathId,
) -> Response[bytes]:
    """The published notes one person co-wrote."""
    person = await accounts.user_by_id(conn, user_id)
    if person is None:
        raise not_found()
    base = settings.base_url.rstrip("/")
    found = await publications.list_current(
        conn, viewer.user_id, author_id=user_id, limit=FEED_SIZE
    )
    if not found:
        raise not_found()  # names are only shown beside published notes
    name = next(a.name for a in found[0].authors if a.id == user_id)
    label = "Notes by" if _language(request) == "en" else "Notes de"
    return _atom(
        feeds.atom_feed(
            feed_id=f"{base}/authors/{user_id}/feed.atom",
            title=f"{label} {name} — Carnet",
            self_url=f"{base}/authors/{user_id}/feed.atom",
            alternate_url=f"{base}/",
            entries=await _entries(conn, found, viewer.user_id, base),
        )
    )


@get("/terms/{note_id:str}/feed.atom", name="term-atom-feed", include_in_schema=False)
async def term_atom(
    request: Request[Any, Any, State],
    conn: Conn,
    viewer: CurrentViewer,
    settings: AppSettings,
    note_id: PathId,
) -> Response[bytes]:
    """The published notes linked to a glossary term (a note of type ``term``)."""
    await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
    term = await notes.get_note(conn, note_id, viewer.user_id)
    if term is None or term.type != "term":
        raise not_found()
    base = settings.base_url.rstrip("/")
    found = await publications.list_current(conn, viewer.user_id, term_id=note_id, limit=FEED_SIZE)
    label = "Term" if _language(request) == "en" else "Terme"
    return _atom(
        feeds.atom_feed(
            feed_id=f"{base}/terms/{note_id}/feed.atom",
            title=f"{label} « {term.title} » — Carnet",
            self_url=f"{base}/terms/{note_id}/feed.atom",
            alternate_url=f"{base}/n/{note_id}",
            entries=await _entries(conn, found, viewer.user_id, base),
        )
    )


# Discovery -------------------------------------------------------------------------------------

SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


@get("/sitemap.xml", name="sitemap", include_in_schema=False)
async def sitemap(conn: Conn, settings: AppSettings) -> Response[bytes]:
    """Published notes anyone may read, and public carnets."""
    base = settings.base_url.rstrip("/")
    urlset = ET.Element("urlset", {"xmlns": SITEMAP})

    def add(loc: str, modified: datetime | None) -> None:
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = loc
        if modified is not None:
            ET.SubElement(url, "lastmod").text = (
                modified.astimezone(UTC).replace(microsecond=0).isoformat()
            )

    add(f"{base}/", None)
    for note_id, modified in await publications.sitemap_entries(conn):
        add(permalink(base, note_id), modified)
    for carnet_id, modified in await publications.public_carnets(conn):
        add(f"{base}/carnets/{carnet_id}", modified)
    body = ET.tostring(urlset, encoding="utf-8", xml_declaration=True)
    return Response(body, media_type="application/xml; charset=utf-8")


@get("/robots.txt", name="robots", include_in_schema=False)
async def robots(settings: AppSettings) -> Response[str]:
    base = settings.base_url.rstrip("/")
    lines = [
        "User-agent: *",
        "Disallow: /api/",
        "Disallow: /ws/",
        "Disallow: /notes/",
        "Disallow: /login",
        "Disallow: /invitations/",
        "Allow: /",
        f"Sitemap: {base}/sitemap.xml",
    ]
    return Response("\n".join(lines) + "\n", media_type="text/plain; charset=utf-8")


static_files = create_static_files_router(
    path=STATIC_PATH, directories=[STATIC], name="public-static", include_in_schema=False
)

PAGE_HANDLERS: list[ControllerRouterHandler] = [
    published_note,
    post_comment,
    site_feed,
    carnet_atom,
    author_atom,
    term_atom,
    sitemap,
    robots,
    static_files,
]
