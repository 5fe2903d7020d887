"""A note as a reader gets it: its published version, or its live one.

Everything the published page, the exports, the citations and the feeds show
comes from a :class:`NoteView`, so they agree with each other, and with the
permission matrix: a note the reader may not open does not exist (404); a
withdrawn publication is gone (410) for those who may open the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import pycrdt

from carnet.dates import local_day, today
from carnet.errors import AppError, not_found
from carnet.models import Person
from carnet.permissions import Action, Verdict, decide
from carnet.public.citations import Cited
from carnet.render import render
from carnet.storage import notes, publications
from carnet.storage.access import note_access
from carnet.storage.publications import FrozenLink, LinkedNote, Place, Publication
from carnet.sync import history
from carnet.sync.rooms import Rooms

Version = Literal["published", "live"]


def gone() -> AppError:
    return AppError(
        410,
        "unpublished",
        "Cette note n’est plus publiée.",
        "This note is no longer published.",
    )


@dataclass(frozen=True, slots=True)
class NoteView:
    id: str
    version: Version
    title: str
    type: str
    status: str
    visibility: str
    licence: str
    authors: list[Person]
    created_at: datetime
    updated_at: datetime
    first_published_at: datetime | None
    publication: Publication | None
    doc: pycrdt.Doc[Any]
    places: list[Place]
    links: list[LinkedNote]
    backlinks: list[LinkedNote]
    url: str
    insider: bool  # the reader is an author or a member of one of the note's carnets

    def body(self, fmt: str) -> str:
        return render(self.doc, fmt)

    @property
    def categories(self) -> list[str]:
        return list(dict.fromkeys(place.category for place in self.places if place.category))

    def cited(self, accessed: Any = None) -> Cited:
        return Cited(
            note_id=self.id,
            title=self.title,
            authors=tuple(author.name for author in self.authors),
            published=local_day(self.first_published_at) if self.first_published_at else None,
            url=self.url,
            accessed=accessed or today(),
            carnet=self.places[0].carnet_title if self.places else None,
        )


def permalink(base_url: str, note_id: str) -> str:
    return f"{base_url.rstrip('/')}/n/{note_id}"


async def _reader(conn: asyncpg.Connection, note_id: str, user_id: str | None) -> tuple[bool, str]:
    """(insider, status) of a note the reader may open; 404 otherwise."""
    found = await note_access(conn, note_id, user_id)
    if found is None or decide(Action.NOTE_VIEW, found[0]) is not Verdict.ALLOW:
        raise not_found()
    access, status = found
    return access.author or access.role is not None, str(status)


async def published_view(
    conn: asyncpg.Connection, note_id: str, user_id: str | None, base_url: str
) -> NoteView:
    """The current publication; 404 when the reader may not open the note or it was
    never published, 410 when it was withdrawn."""
    insider, status = await _reader(conn, note_id, user_id)
    publication = await publications.get_publication(conn, note_id)
    if publication is None:
        raise not_found("Cette note n’est pas publiée.", "This note is not published.")
    if not publication.current:
        raise gone()
    note = await notes.get_note(conn, note_id, user_id)
    assert note is not None
    state = await publications.publication_state(conn, publication.revision_id)
    return NoteView(
        id=note_id,
        version="published",
        title=publication.title,
        type=publication.type,
        status=status,
        visibility=str(note.visibility),
        licence=publication.licence,
        authors=publication.authors,
        created_at=note.created_at,
        updated_at=publication.published_at,
        first_published_at=publication.first_published_at,
        publication=publication,
        doc=history.doc_from_state(state),
        places=await publications.places(conn, note_id, user_id),
        links=await publications.linked_notes(conn, publication.links, user_id),
        backlinks=await publications.backlinks(conn, note_id, user_id),
        url=permalink(base_url, note_id),
        insider=insider,
    )


async def live_view(
    conn: asyncpg.Connection, rooms: Rooms, note_id: str, user_id: str | None, base_url: str
) -> NoteView:
    """The note as it stands now (the reader must be allowed to open it)."""
    insider, status = await _reader(conn, note_id, user_id)
    note = await notes.get_note(conn, note_id, user_id)
    assert note is not None
    publication = await publications.get_publication(conn, note_id)
    current = publication if publication is not None and publication.current else None
    doc, _ = await history.current_document(rooms, conn, note_id)
    links = await notes.list_links(conn, note_id, backlinks=False)
    frozen = [FrozenLink(link.note_id, str(link.kind)) for link in links]
    return NoteView(
        id=note_id,
        version="live",
        title=note.title,
        type=str(note.type),
        status=status,
        visibility=str(note.visibility),
        licence=note.licence,
        authors=note.authors,
        created_at=note.created_at,
        updated_at=note.updated_at,
        first_published_at=current.first_published_at if current else None,
        publication=current,
        doc=doc,
        places=await publications.places(conn, note_id, user_id),
        links=await publications.linked_notes(conn, frozen, user_id),
        backlinks=await publications.backlinks(conn, note_id, user_id),
        url=permalink(base_url, note_id),
        insider=insider,
    )


async def any_view(
    conn: asyncpg.Connection,
    rooms: Rooms,
    note_id: str,
    user_id: str | None,
    base_url: str,
    version: str = "auto",
) -> NoteView:
    """``published``, ``live``, or ``auto``: the published version for readers
    outside the note when there is one, else the live one."""
    if version == "published":
        return await published_view(conn, note_id, user_id, base_url)
    if version == "auto":
        insider, _ = await _reader(conn, note_id, user_id)
        if not insider:
            publication = await publications.get_publication(conn, note_id)
            if publication is not None and publication.current:
                return await published_view(conn, note_id, user_id, base_url)
    return await live_view(conn, rooms, note_id, user_id, base_url)
