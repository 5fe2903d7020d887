"""The API of publishing and finding: citations, exports, import, search, notifications."""

from __future__ import annotations

import contextlib
from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from carnet.api.dependencies import (
    AppSettings,
    Conn,
    CurrentUser,
    CurrentViewer,
    EventOutbox,
    LiveRooms,
    PageWindow,
)
from carnet.api.notify import note_changed
from carnet.api.schemas import NOT_BLANK, Identifier, PathId
from carnet.authorize import authorize_carnet, authorize_note
from carnet.errors import AppError, invalid, not_found
from carnet.i18n import Language, request_language
from carnet.models import Note, NoteStatus, NoteType, Page, Person
from carnet.permissions import Action
from carnet.public import citations, exports, importer, snippets
from carnet.public.hooks import after_transition
from carnet.public.views import NoteView, any_view, permalink
from carnet.storage import carnets, notes, notifications, publications, search
from carnet.storage.documents import NewUpdate, append_updates
from carnet.storage.search import CarnetRef, Filters

NO_NUL = r"^[^\x00]*$"
Lang = Annotated[Literal["fr", "en"] | None, QueryParameter(name="lang")]
VersionParam = Annotated[Literal["auto", "published", "live"], QueryParameter(name="version")]


def _language(request: Request[Any, Any, State], chosen: str | None) -> Language:
    if chosen in ("fr", "en"):
        return "en" if chosen == "en" else "fr"
    return request_language(request.headers, request.cookies)


# Citations and exports of one note ---------------------------------------------------


class NoteOutController(Controller):
    path = "/api/notes/{note_id:str}"
    tags = ["publishing"]

    @get("/citation")
    async def citation(
        self,
        request: Request[Any, Any, State],
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        settings: AppSettings,
        note_id: PathId,
        fmt: Annotated[
            Literal["praxis", "apa", "bibtex", "ris", "csl-json"], QueryParameter(name="format")
        ] = "apa",
        lang: Lang = None,
        version: VersionParam = "auto",
    ) -> Response[str]:
        """How to cite the note: the Praxis form, APA 7, BibTeX, RIS or CSL-JSON.

        Anyone who may read a published note may cite it; an unpublished note is
        cited without a year ("s. d.") by those who may open it.
        """
        view = await any_view(conn, rooms, note_id, viewer.user_id, settings.base_url, version)
        text = citations.cite(view.cited(), fmt, _language(request, lang))
        return Response(
            text,
            media_type=citations.MEDIA_TYPES[fmt],
            headers={
                "content-disposition": exports.attachment(
                    f"{exports.slug(view.title)}.{citations.EXTENSIONS[fmt]}"
                ).replace("attachment", "inline", 1)
            },
        )

    @get("/export")
    async def export(
        self,
        request: Request[Any, Any, State],
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        settings: AppSettings,
        note_id: PathId,
        fmt: Annotated[Literal["markdown", "html", "text"], QueryParameter(name="format")] = (
            "markdown"
        ),
        lang: Lang = None,
        version: VersionParam = "auto",
    ) -> Response[str]:
        """The note as Markdown with YAML front matter, a standalone HTML page, or text.

        ``version=auto`` gives readers outside the note its published version
        when there is one, and the live text to its authors and carnet members.
        """
        view = await any_view(conn, rooms, note_id, viewer.user_id, settings.base_url, version)
        language = _language(request, lang)
        body = exports.export_note(view, fmt, language, settings.base_url)
        filename = f"{exports.slug(view.title)}.{exports.EXTENSIONS[fmt]}"
        return Response(
            body,
            media_type=exports.MEDIA_TYPES[fmt],
            headers={"content-disposition": exports.attachment(filename)},
        )

    @get("/publication")
    async def publication(
        self, conn: Conn, viewer: CurrentViewer, settings: AppSettings, note_id: PathId
    ) -> PublicationInfo:
        """The note's published version, if any: its number, dates, and whether it is current."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        found = await publications.get_publication(conn, note_id)
        if found is None:
            raise not_found("Cette note n’est pas publiée.", "This note is not published.")
        return PublicationInfo(
            note_id=note_id,
            url=permalink(settings.base_url, note_id),
            version=found.version,
            title=found.title,
            authors=found.authors,
            first_published_at=found.first_published_at,
            published_at=found.published_at,
            withdrawn_at=found.withdrawn_at,
            current=found.current,
        )

    @delete("/publication", status_code=204)
    async def withdraw(
        self, conn: Conn, viewer: CurrentViewer, outbox: EventOutbox, note_id: PathId
    ) -> None:
        """Withdraw the published version (``/n/{note_id}`` then answers 410), also
        while a reopened note is being rewritten; a published note becomes finalised,
        like ``POST /api/notes/{note_id}/unpublish``."""
        _, status = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_TRANSITION)
        found = await publications.get_publication(conn, note_id)
        if found is None or not found.current:
            raise not_found("Cette note n’est pas publiée.", "This note is not published.")
        if status is NoteStatus.PUBLISHED:
            await notes.transition_note(conn, note_id, "unpublish")
        await after_transition(conn, note_id, "unpublish", viewer.user_id, None)
        await note_changed(conn, outbox, "updated", note_id)


class PublicationInfo(msgspec.Struct, frozen=True, kw_only=True):
    note_id: str
    url: str
    version: int
    title: str
    authors: list[Person]
    first_published_at: datetime
    published_at: datetime
    withdrawn_at: datetime | None
    current: bool


# Carnets: export and import -------------------------------------------------------------


class ImportRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    markdown: Annotated[str, msgspec.Meta(max_length=1_000_000, pattern=NO_NUL)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=300, pattern=NOT_BLANK)] | None = (
        None
    )
    category: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=NOT_BLANK)] | None
    ) = None
    type: NoteType | None = None


_TYPES = {str(t) for t in NoteType}
_LICENCE = msgspec.json.Decoder(
    Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9.\-+ ]+$")]
)


class CarnetOutController(Controller):
    path = "/api/carnets/{carnet_id:str}"
    tags = ["publishing"]

    @get("/export")
    async def export(
        self,
        request: Request[Any, Any, State],
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        settings: AppSettings,
        carnet_id: PathId,
        fmt: Annotated[Literal["zip", "html", "json"], QueryParameter(name="format")] = "zip",
        lang: Lang = None,
    ) -> Response[Any]:
        """The carnet as a ZIP of Markdown files with an index, as one HTML "book" of its
        published notes, or as JSON. Members get every note (live text); other readers
        the published versions of the notes they may read."""
        access = await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_VIEW)
        carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
        assert carnet is not None
        language = _language(request, lang)
        listed, _ = await notes.list_carnet_notes(
            conn,
            carnet_id,
            viewer.user_id,
            member=access.role is not None,
            filters={},
            limit=10_000,
            offset=0,
        )
        entries: list[exports.Entry] = []
        for summary in listed:
            published_only = fmt == "html"
            view = await _entry_view(
                conn, rooms, summary.id, viewer.user_id, settings.base_url, published_only
            )
            if view is not None:
                entries.append(
                    exports.Entry(view, summary.category, summary.pinned, summary.position)
                )
        name = exports.slug(carnet.title, "carnet")
        headers = {"content-disposition": exports.attachment(f"{name}.{exports.EXTENSIONS[fmt]}")}
        if fmt == "zip":
            data = exports.carnet_zip(carnet, entries, settings.base_url, language)
            return Response(data, media_type=exports.MEDIA_TYPES["zip"], headers=headers)
        if fmt == "html":
            book = exports.carnet_book(carnet, entries, language)
            return Response(book, media_type=exports.MEDIA_TYPES["html"], headers=headers)
        body = exports.carnet_json(carnet, entries, settings.base_url)
        return Response(body, media_type=exports.MEDIA_TYPES["json"], headers=headers)

    @post("/import", status_code=201)
    async def import_markdown(
        self,
        request: Request[Any, Any, State],
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: PathId,
    ) -> Note:
        """A Markdown file as a new draft note of this carnet.

        The body is the raw Markdown (``text/markdown``), a ``multipart/form-data``
        upload in the field ``file``, or JSON ``{"markdown", "title"?, "category"?}``.
        A YAML front matter may give ``title``, ``type`` and ``licence``; without a
        title, the first level-1 heading, then the file name, is used.
        """
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_CONTRIBUTE)
        assert viewer.user_id is not None
        source, title, category, filename, kind = await _import_source(request)
        meta, body = importer.split_front_matter(source)
        blocks = importer.parse_markdown(body)
        title = title or meta.get("title") or importer.first_heading(blocks) or filename
        title = " ".join((title or "").split())[:300] or "Note importée"
        if category is not None and (len(category) > 80 or not category.strip()):
            raise invalid("invalid_category", "Catégorie invalide.", "Invalid category.")
        fields: dict[str, Any] = {"title": title}
        if kind is not None:
            fields["type"] = kind
        elif meta.get("type") in _TYPES:
            fields["type"] = meta["type"]
        if licence := meta.get("licence"):
            with contextlib.suppress(msgspec.ValidationError):
                fields["licence"] = _LICENCE.decode(msgspec.json.encode(licence))
        carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
        assert carnet is not None
        fields["visibility"] = carnet.visibility
        note_id = await notes.create_note(
            conn, carnet_id, viewer.user_id, fields, category=category
        )
        doc = importer.blocks_to_doc(blocks)
        await append_updates(conn, [NewUpdate(note_id, doc.get_update(), viewer.user_id)])
        await note_changed(conn, outbox, "created", note_id)
        note = await notes.get_note(conn, note_id, viewer.user_id)
        assert note is not None
        return note


async def _entry_view(
    conn: Conn,
    rooms: LiveRooms,
    note_id: str,
    user_id: str | None,
    base_url: str,
    published_only: bool,
) -> NoteView | None:
    """The published version, or for the note's insiders (``published_only`` false)
    the live one; None when the reader gets neither."""
    try:
        view = await any_view(
            conn, rooms, note_id, user_id, base_url, "published" if published_only else "auto"
        )
    except AppError:
        return None
    return view if view.version == "published" or view.insider else None


async def _import_source(
    request: Request[Any, Any, State],
) -> tuple[str, str | None, str | None, str | None, str | None]:
    """(markdown, title, category, file name, type) from whichever form the body takes."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("file_missing", "Joignez un fichier Markdown.", "Attach a Markdown file.")
        raw = await upload.read()
        filename = (upload.filename or "").rsplit("/", 1)[-1]
        stem = filename.rsplit(".", 1)[0].replace("-", " ").replace("_", " ").strip() or None
        title = form.get("title")
        category = form.get("category")
        return (
            _decode(raw),
            title if isinstance(title, str) and title.strip() else None,
            category if isinstance(category, str) and category.strip() else None,
            stem,
            None,
        )
    raw = await request.body()
    if content_type == "application/json":
        try:
            data = msgspec.json.decode(raw, type=ImportRequest)
        except msgspec.DecodeError:
            raise invalid("invalid_input", "Données invalides.", "Invalid input.") from None
        return data.markdown, data.title, data.category, None, str(data.type) if data.type else None
    return _decode(raw), None, None, None, None


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid(
            "not_utf8", "Le fichier doit être en UTF-8.", "The file must be UTF-8 text."
        ) from None
    if "\x00" in text:
        raise invalid("binary_file", "Ce n’est pas un fichier texte.", "This is not a text file.")
    return text


# Search ------------------------------------------------------------------------------------


class SearchCarnet(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    category: str | None


class SearchResult(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    title_html: str
    type: str
    status: str
    version: str  # "published" (the frozen text) or "live" (the current one)
    url: str  # the published page, or the editor for a version not published
    snippet_html: str
    authors: list[Person]
    carnets: list[SearchCarnet]
    updated_at: datetime
    published_at: datetime | None
    rank: float


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    query: str
    mode: str  # "fulltext", "fuzzy" (typo-tolerant fallback) or "browse" (no query)
    results: list[SearchResult]
    total: int
    limit: int
    offset: int


def _carnet(ref: CarnetRef) -> SearchCarnet:
    return SearchCarnet(id=ref.id, title=ref.title, category=ref.category)


class SearchController(Controller):
    path = "/api/search"
    tags = ["search"]

    @get("/")
    async def search(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        settings: AppSettings,
        window: PageWindow,
        q: Annotated[str, QueryParameter(max_length=300, pattern=NO_NUL)] = "",
        carnet: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        type: Annotated[NoteType | None, QueryParameter()] = None,
        category: Annotated[str | None, QueryParameter(max_length=80, pattern=NO_NUL)] = None,
        author: Annotated[str | None, QueryParameter(max_length=64, pattern=NO_NUL)] = None,
        status: Annotated[NoteStatus | None, QueryParameter()] = None,
        date_field: Annotated[
            Literal["updated", "created", "published"], QueryParameter(name="date")
        ] = "updated",
        date_from: Annotated[date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[date | None, QueryParameter(name="to")] = None,
    ) -> SearchPage:
        """Full-text search in French and English, accents ignored, with a typo-tolerant
        fallback. Anonymous readers find published public notes (their published
        text); authors and carnet members also find the notes they may open (live text).
        """
        filters = Filters(
            carnet_id=carnet,
            type=str(type) if type else None,
            category=category,
            author_id=author,
            status=str(status) if status else None,
            date_field=date_field,
            date_from=date_from,
            date_to=date_to,
        )
        hits, total, mode = await search.search(
            conn, q, viewer.user_id, filters, limit=window.limit, offset=window.offset
        )
        words = search.fuzzy_words(q)
        base = settings.base_url.rstrip("/")
        results = []
        for hit in hits:
            if mode == "fulltext":
                snippet = snippets.marked_to_html(hit.snippet_marked)
                title_html = snippets.marked_to_html(hit.title_marked)
            elif mode == "fuzzy":
                snippet = snippets.fuzzy_snippet(hit.body, words)
                title_html = snippets.fuzzy_snippet(hit.title, words)
            else:
                snippet = snippets.opening(hit.body)
                title_html = snippets.marked_to_html(hit.title)
            published = hit.version == "published" or hit.published_at is not None
            results.append(
                SearchResult(
                    id=hit.note_id,
                    title=hit.title,
                    title_html=title_html,
                    type=hit.type,
                    status=hit.status,
                    version=hit.version,
                    url=f"{base}/n/{hit.note_id}" if published else f"{base}/notes/{hit.note_id}",
                    snippet_html=snippet,
                    authors=hit.authors,
                    carnets=[_carnet(ref) for ref in hit.carnets],
                    updated_at=hit.updated_at,
                    published_at=hit.published_at,
                    rank=hit.rank,
                )
            )
        return SearchPage(
            query=q,
            mode=mode,
            results=results,
            total=total,
            limit=window.limit,
            offset=window.offset,
        )


# Notifications ---------------------------------------------------------------------------


class MarkRead(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Identifiers, not any text: a NUL character reached PostgreSQL and came back a 500.
    ids: Annotated[list[Identifier], msgspec.Meta(max_length=500)] | None = None


class Marked(msgspec.Struct, frozen=True, kw_only=True):
    marked: int
    unread: int


class Unread(msgspec.Struct, frozen=True, kw_only=True):
    unread: int


class NotificationController(Controller):
    path = "/api/notifications"
    tags = ["notifications"]

    @get("/")
    async def list_notifications(
        self,
        conn: Conn,
        user: CurrentUser,
        window: PageWindow,
        unread: Annotated[bool, QueryParameter()] = False,
    ) -> Page[notifications.Notification]:
        """My notifications, newest first: comments on my notes, my notes finalised or
        published by a co-author."""
        items, total = await notifications.list_notifications(
            conn, user.id, unread_only=unread, limit=window.limit, offset=window.offset
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @get("/unread")
    async def unread(self, conn: Conn, user: CurrentUser) -> Unread:
        return Unread(unread=await notifications.unread_count(conn, user.id))

    @post("/read", status_code=200)
    async def mark_read(self, conn: Conn, user: CurrentUser, data: JSONBody[MarkRead]) -> Marked:
        """Mark the given notifications read, or all of them without ``ids``."""
        marked = await notifications.mark_read(conn, user.id, data.ids)
        return Marked(marked=marked, unread=await notifications.unread_count(conn, user.id))

    @post("/{notification_id:str}/read", status_code=200)
    async def mark_one_read(self, conn: Conn, user: CurrentUser, notification_id: PathId) -> Marked:
        marked = await notifications.mark_read(conn, user.id, [notification_id])
        if not marked:
            raise not_found()
        return Marked(marked=marked, unread=await notifications.unread_count(conn, user.id))


API_HANDLERS: list[ControllerRouterHandler] = [
    NoteOutController,
    CarnetOutController,
    SearchController,
    NotificationController,
]
