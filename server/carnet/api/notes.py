"""Notes: metadata, status, authors and links."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody

from carnet.api.dependencies import Conn, CurrentViewer, EventOutbox, LiveRooms
from carnet.api.notify import note_changed
from carnet.api.schemas import AuthorAdd, AuthorsSet, LinkCreate, Links, NoteUpdate, PathId
from carnet.authorize import authorize_note
from carnet.errors import AppError
from carnet.events import AccessChanged
from carnet.models import LinkKind, Note
from carnet.permissions import Action
from carnet.public.hooks import after_transition
from carnet.storage import accounts, notes
from carnet.storage.access import visible_note_ids
from carnet.sync import history

NoteId = PathId


async def _note(conn: Conn, note_id: str, viewer: CurrentViewer) -> Note:
    note = await notes.get_note(conn, note_id, viewer.user_id)
    assert note is not None
    return note


class NoteController(Controller):
    path = "/api/notes"
    tags = ["notes"]

    @get("/{note_id:str}")
    async def get_note(self, conn: Conn, viewer: CurrentViewer, note_id: NoteId) -> Note:
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        return await _note(conn, note_id, viewer)

    @patch("/{note_id:str}")
    async def update_note(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        note_id: NoteId,
        data: JSONBody[NoteUpdate],
    ) -> Note:
        _, status = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_EDIT)
        notes.require_draft(status)
        fields = data.given()
        await notes.update_note(conn, note_id, fields)
        await note_changed(conn, outbox, "updated", note_id)
        if "visibility" in fields:
            outbox.add(AccessChanged(note_id=note_id))
        return await _note(conn, note_id, viewer)

    @delete("/{note_id:str}")
    async def delete_note(
        self, conn: Conn, viewer: CurrentViewer, outbox: EventOutbox, note_id: NoteId
    ) -> None:
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_DELETE)
        await note_changed(conn, outbox, "deleted", note_id)
        await notes.delete_note(conn, note_id)

    async def _transition(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        rooms: LiveRooms,
        note_id: str,
        transition: str,
    ) -> Note:
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_TRANSITION)
        await notes.transition_note(conn, note_id, transition)
        revision = None
        if transition in ("finalise", "publish"):
            # The text as it stood when it was declared final or published.
            revision = await history.record_revision(
                rooms, conn, note_id, transition, viewer.user_id
            )
        # Published version, public index, notifications (issue 5).
        await after_transition(conn, note_id, transition, viewer.user_id, revision)
        await note_changed(conn, outbox, "updated", note_id)
        return await _note(conn, note_id, viewer)

    @post("/{note_id:str}/finalise", status_code=200)
    async def finalise(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        rooms: LiveRooms,
        note_id: NoteId,
    ) -> Note:
        """Draft → finalised: the text is frozen until reopened."""
        return await self._transition(conn, viewer, outbox, rooms, note_id, "finalise")

    @post("/{note_id:str}/publish", status_code=200)
    async def publish(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        rooms: LiveRooms,
        note_id: NoteId,
    ) -> Note:
        """Draft or finalised → published."""
        return await self._transition(conn, viewer, outbox, rooms, note_id, "publish")

    @post("/{note_id:str}/reopen", status_code=200)
    async def reopen(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        rooms: LiveRooms,
        note_id: NoteId,
    ) -> Note:
        """Finalised or published → draft, to write again."""
        return await self._transition(conn, viewer, outbox, rooms, note_id, "reopen")

    @post("/{note_id:str}/unpublish", status_code=200)
    async def unpublish(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        rooms: LiveRooms,
        note_id: NoteId,
    ) -> Note:
        """Published → finalised."""
        return await self._transition(conn, viewer, outbox, rooms, note_id, "unpublish")

    # Authors ---------------------------------------------------------------------

    @put("/{note_id:str}/authors")
    async def set_authors(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, data: JSONBody[AuthorsSet]
    ) -> Note:
        """Replace the ordered list of authors."""
        await authorize_note(conn, note_id, viewer.user_id, Action.AUTHORS_MANAGE)
        await notes.set_authors(conn, note_id, data.user_ids)
        return await _note(conn, note_id, viewer)

    @post("/{note_id:str}/authors")
    async def add_author(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, data: JSONBody[AuthorAdd]
    ) -> Note:
        """Add an author at the end of the list, by id or by email."""
        await authorize_note(conn, note_id, viewer.user_id, Action.AUTHORS_MANAGE)
        if data.email is not None:
            person = await accounts.user_by_email(conn, data.email)
        elif data.user_id is not None:
            person = await accounts.user_by_id(conn, data.user_id)
        else:
            raise AppError(
                400, "author_missing", "Indiquez user_id ou email.", "Give user_id or email."
            )
        if person is None:
            raise AppError(422, "unknown_user", "Personne inconnue.", "Unknown person.")
        await notes.add_author(conn, note_id, person.id)
        return await _note(conn, note_id, viewer)

    # Links -------------------------------------------------------------------------

    @get("/{note_id:str}/links")
    async def list_links(self, conn: Conn, viewer: CurrentViewer, note_id: NoteId) -> Links:
        """Links from this note and backlinks to it, limited to notes the reader may open."""
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        links = await notes.list_links(conn, note_id, backlinks=False)
        backlinks = await notes.list_links(conn, note_id, backlinks=True)
        visible = await visible_note_ids(
            conn, [link.note_id for link in links + backlinks], viewer.user_id
        )
        return Links(
            links=[link for link in links if link.note_id in visible],
            backlinks=[link for link in backlinks if link.note_id in visible],
        )

    @post("/{note_id:str}/links", status_code=201)
    async def add_link(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, data: JSONBody[LinkCreate]
    ) -> None:
        _, status = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_EDIT)
        notes.require_draft(status)
        await authorize_note(conn, data.target_id, viewer.user_id, Action.NOTE_VIEW)
        assert viewer.user_id is not None
        await notes.add_link(conn, note_id, data.target_id, data.kind, viewer.user_id)

    @delete("/{note_id:str}/links/{kind:str}/{target_id:str}")
    async def remove_link(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        note_id: NoteId,
        kind: FromPath[LinkKind],
        target_id: PathId,
    ) -> None:
        _, status = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_EDIT)
        notes.require_draft(status)
        await notes.remove_link(conn, note_id, target_id, kind)
