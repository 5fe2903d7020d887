"""The vocabulary of Carnet: people, carnets, notes and what links them.

These Structs are what the storage layer returns and what the API sends.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Generic, TypeVar

import msgspec


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class Role(StrEnum):
    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    MANAGER = "manager"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 1, Role.CONTRIBUTOR: 2, Role.MANAGER: 3}


class NoteType(StrEnum):
    NOTE = "note"
    ORGANISATION = "organisation"
    TERM = "term"


class NoteStatus(StrEnum):
    DRAFT = "draft"
    FINALISED = "finalised"
    PUBLISHED = "published"


class LinkKind(StrEnum):
    RELATED = "related"
    ORGANISATION = "organisation"
    TERM = "term"


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    name: str
    created_at: datetime


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A user as others see them: no email."""

    id: str
    name: str


class ApiToken(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class Carnet(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    description: str
    event_name: str
    event_start: date | None
    event_end: date | None
    event_place: str
    visibility: Visibility
    writing_guide: str
    categories: list[str]
    created_by: Person | None
    created_at: datetime
    updated_at: datetime
    note_count: int
    my_role: Role | None = None


class Member(msgspec.Struct, frozen=True, kw_only=True):
    user: Person
    role: Role
    added_at: datetime


class Invitation(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    carnet_id: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    created_by: Person | None


class NoteInCarnet(msgspec.Struct, frozen=True, kw_only=True):
    """A note's place in one carnet ("Intégré par … le …")."""

    carnet_id: str
    carnet_title: str
    added_by: Person | None
    added_at: datetime
    category: str | None
    position: int
    pinned: bool


class Note(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    title: str
    type: NoteType
    status: NoteStatus
    visibility: Visibility
    licence: str
    authors: list[Person]
    carnets: list[NoteInCarnet]
    created_by: Person | None
    created_at: datetime
    updated_at: datetime
    finalised_at: datetime | None
    published_at: datetime | None


class NoteSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A note as listed in a carnet."""

    id: str
    title: str
    type: NoteType
    status: NoteStatus
    visibility: Visibility
    authors: list[Person]
    category: str | None
    position: int
    pinned: bool
    added_by: Person | None
    added_at: datetime
    updated_at: datetime


class NoteLink(msgspec.Struct, frozen=True, kw_only=True):
    note_id: str
    title: str
    type: NoteType
    kind: LinkKind
    created_at: datetime


class Comment(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    note_id: str
    author: Person | None
    body: str
    created_at: datetime
    edited_at: datetime | None
    deleted: bool


T = TypeVar("T")


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    items: list[T]
    total: int
    limit: int
    offset: int


class Revision(msgspec.Struct, frozen=True, kw_only=True):
    """A point in a note body's history."""

    id: str
    seq: int
    reason: str
    contributors: list[Person]
    created_by: Person | None
    created_at: datetime
