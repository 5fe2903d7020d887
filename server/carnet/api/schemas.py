"""What the API accepts: request bodies, validated field by field.

Responses are the Structs of :mod:`carnet.models`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec
from litestar.params import PathParameter
from msgspec import UNSET, Meta, UnsetType

from carnet.models import LinkKind, NoteLink, NoteType, Role, User, Visibility

# PostgreSQL text cannot hold U+0000: without these patterns a NUL character in
# any field reached the database and came back as a 500. Names and titles must
# also hold something other than spaces (the API strips names, and a title of
# blanks cannot be shown or clicked). Both patterns run in linear time.
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = r"(?s)^(?=.*\S)[^\x00]*$"
# Every identifier and secret the server hands out is url-safe base64.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"

Title = Annotated[str, Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
NoteTitle = Annotated[str, Meta(min_length=1, max_length=300, pattern=NOT_BLANK)]
Text = Annotated[str, Meta(max_length=20_000, pattern=NO_NUL)]
ShortText = Annotated[str, Meta(max_length=300, pattern=NO_NUL)]
Name = Annotated[str, Meta(min_length=1, max_length=120, pattern=NOT_BLANK)]
Email = Annotated[
    str, Meta(min_length=3, max_length=254, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")
]
# An email to look up (sign-in, adding a member): any text, as long as it fits.
EmailLookup = Annotated[str, Meta(max_length=254, pattern=NO_NUL)]
Password = Annotated[str, Meta(min_length=1, max_length=1024)]
Category = Annotated[str, Meta(min_length=1, max_length=80, pattern=NOT_BLANK)]
Categories = Annotated[list[Category], Meta(max_length=50)]
Licence = Annotated[str, Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9.\-+ ]+$")]
Identifier = Annotated[str, Meta(min_length=1, max_length=64, pattern=ID_PATTERN)]
CommentBody = Annotated[str, Meta(min_length=1, max_length=10_000, pattern=NOT_BLANK)]
# Identifiers in URLs, checked like those in bodies (invitation secrets are longer).
PathId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=ID_PATTERN)]
PathSecret = Annotated[str, PathParameter(min_length=1, max_length=128, pattern=ID_PATTERN)]


class Struct(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def given(self) -> dict[str, object]:
        """The fields the client sent (for partial updates)."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class Login(Struct):
    email: EmailLookup
    password: Password


class Signup(Struct):
    email: Email
    name: Name
    password: Password


class Session(msgspec.Struct, kw_only=True):
    user: User
    csrf_token: str | None


class TokenRequest(Struct):
    label: Name = "API"


class NewToken(msgspec.Struct, kw_only=True):
    id: str
    label: str
    token: str


class CarnetCreate(Struct):
    title: Title
    visibility: Visibility = Visibility.PRIVATE
    description: Text = ""
    event_name: ShortText = ""
    event_start: date | None = None
    event_end: date | None = None
    event_place: ShortText = ""
    writing_guide: Text = ""
    categories: Categories = msgspec.field(default_factory=list)


class CarnetUpdate(Struct):
    title: Title | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET
    description: Text | UnsetType = UNSET
    event_name: ShortText | UnsetType = UNSET
    event_start: date | UnsetType | None = UNSET
    event_end: date | UnsetType | None = UNSET
    event_place: ShortText | UnsetType = UNSET
    writing_guide: Text | UnsetType = UNSET
    categories: Categories | UnsetType = UNSET


class MemberAdd(Struct):
    email: EmailLookup
    role: Role = Role.CONTRIBUTOR


class MemberUpdate(Struct):
    role: Role


class InvitationCreate(Struct):
    role: Role = Role.CONTRIBUTOR
    # With its time zone: a bare local time would silently be read as UTC.
    expires_at: Annotated[datetime, Meta(tz=True)] | None = None
    max_uses: Annotated[int, Meta(ge=1, le=10_000)] | None = None


class NewInvitation(msgspec.Struct, kw_only=True):
    id: str
    role: Role
    token: str
    url: str
    expires_at: datetime | None
    max_uses: int | None


class Joined(msgspec.Struct, kw_only=True):
    carnet_id: str
    role: Role


class NoteCreate(Struct):
    title: NoteTitle
    visibility: Visibility | UnsetType = UNSET
    type: NoteType = NoteType.NOTE
    licence: Licence = "CC-BY-4.0"
    category: Category | None = None


class NoteUpdate(Struct):
    title: NoteTitle | UnsetType = UNSET
    visibility: Visibility | UnsetType = UNSET
    type: NoteType | UnsetType = UNSET
    licence: Licence | UnsetType = UNSET


class Attach(Struct):
    note_id: Identifier
    category: Category | None = None


class PlaceUpdate(Struct):
    category: Category | UnsetType | None = UNSET
    pinned: bool | UnsetType = UNSET


class Order(Struct):
    note_ids: Annotated[list[Identifier], Meta(max_length=10_000)]


class AuthorsSet(Struct):
    user_ids: Annotated[list[Identifier], Meta(min_length=1, max_length=50)]


class AuthorAdd(Struct):
    user_id: Identifier | None = None
    email: EmailLookup | None = None


class LinkCreate(Struct):
    target_id: Identifier
    kind: LinkKind = LinkKind.RELATED


class Links(msgspec.Struct, kw_only=True):
    links: list[NoteLink]
    backlinks: list[NoteLink]


class CommentCreate(Struct):
    body: CommentBody
