"""A note body: rendered live, and its revision history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
import pycrdt
from litestar import Controller, Response, get, post
from litestar.params import QueryParameter

from carnet.api.dependencies import Conn, CurrentViewer, LiveRooms, PageWindow
from carnet.api.schemas import ID_PATTERN, PathId
from carnet.authorize import authorize_note
from carnet.errors import not_found
from carnet.models import Page, Revision
from carnet.permissions import Action
from carnet.render import render
from carnet.storage import accounts, notes
from carnet.storage import documents as store
from carnet.sync import history

Format = Annotated[Literal["markdown", "html", "text"], QueryParameter(name="format")]

_MEDIA_TYPES = {
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}


def _rendered(doc: pycrdt.Doc[Any], fmt: str) -> Response[str]:
    return Response(render(doc, fmt), media_type=_MEDIA_TYPES[fmt])


async def _revisions(conn: asyncpg.Connection, found: list[store.Revision]) -> list[Revision]:
    ids = {i for r in found for i in r.contributors}
    ids.update(r.created_by for r in found if r.created_by)
    named = await accounts.people(conn, sorted(ids))
    return [
        Revision(
            id=r.id,
            seq=r.seq,
            reason=r.reason,
            contributors=[named[i] for i in r.contributors if i in named],
            created_by=named.get(r.created_by) if r.created_by else None,
            created_at=r.created_at,
        )
        for r in found
    ]


async def _revision_state(conn: asyncpg.Connection, note_id: str, revision_id: str) -> bytes:
    found = await store.revision_state(conn, note_id, revision_id)
    if found is None:
        raise not_found("Révision introuvable.", "Revision not found.")
    return found[1]


class HistoryController(Controller):
    path = "/api/notes/{note_id:str}"
    tags = ["history"]

    @get("/content")
    async def content(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        note_id: PathId,
        fmt: Format = "markdown",
    ) -> Response[str]:
        """The live body as Markdown, sanitized HTML or plain text."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        doc, _ = await history.current_document(rooms, conn, note_id)
        return _rendered(doc, fmt)

    @get("/revisions")
    async def list_revisions(
        self, conn: Conn, viewer: CurrentViewer, note_id: PathId, window: PageWindow
    ) -> Page[Revision]:
        """Newest first."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        found, total = await store.list_revisions(
            conn, note_id, limit=window.limit, offset=window.offset
        )
        items = await _revisions(conn, found)
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/revisions")
    async def create_revision(
        self, conn: Conn, viewer: CurrentViewer, rooms: LiveRooms, note_id: PathId
    ) -> Revision:
        """Mark the current body as a revision by hand."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_EDIT)
        made = await history.record_revision(rooms, conn, note_id, "manual", viewer.user_id)
        return (await _revisions(conn, [made]))[0]

    @get("/revisions/{revision_id:str}")
    async def show_revision(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        note_id: PathId,
        revision_id: PathId,
        fmt: Format = "markdown",
    ) -> Response[str]:
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        state = await _revision_state(conn, note_id, revision_id)
        return _rendered(history.doc_from_state(state), fmt)

    @get("/revisions/{revision_id:str}/diff")
    async def diff_revision(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        note_id: PathId,
        revision_id: PathId,
        # An identifier (or "current"): any other text, a NUL in it, reached PostgreSQL (500).
        against: Annotated[str, QueryParameter(max_length=64, pattern=ID_PATTERN)] = "current",
    ) -> list[history.Change]:
        """What changed from this revision to ``against``: another revision, or the current body."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        old = history.doc_from_state(await _revision_state(conn, note_id, revision_id))
        if against == "current":
            new, _ = await history.current_document(rooms, conn, note_id)
        else:
            new = history.doc_from_state(await _revision_state(conn, note_id, against))
        return history.diff_text(history.body_text(old), history.body_text(new))

    @post("/revisions/{revision_id:str}/restore", status_code=200)
    async def restore(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        rooms: LiveRooms,
        note_id: PathId,
        revision_id: PathId,
    ) -> Revision:
        """Bring the body back to a revision, as a new change everyone converges on."""
        _, status = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_EDIT)
        notes.require_draft(status)
        assert viewer.user_id is not None
        state = await _revision_state(conn, note_id, revision_id)
        await history.restore_revision(rooms, conn, note_id, state, viewer.user_id)
        made = await history.record_revision(rooms, conn, note_id, "restore", viewer.user_id)
        return (await _revisions(conn, [made]))[0]
