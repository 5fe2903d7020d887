"""Who may do what: the one permission matrix of Carnet.

Every operation of the API and of the live socket asks :func:`decide`. The
answer depends only on an :class:`Access` — what the storage layer knows of
the person and the object — so the whole matrix can be tested from a
generated table of cases without a server.

Things a person may not see do not exist for them: the answer is
``NOT_FOUND``, never "forbidden", so a private carnet's existence does not
leak. A visible thing that needs signing in answers ``UNAUTHENTICATED``;
anything else not allowed is ``FORBIDDEN``. Whether a note's *state* allows
an operation (a finalised note is not editable) is a separate question,
answered by the note's status rules with 409.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

from carnet.models import Role


class Action(StrEnum):
    # carnets
    CARNET_VIEW = "carnet.view"
    CARNET_UPDATE = "carnet.update"
    CARNET_DELETE = "carnet.delete"
    MEMBERS_VIEW = "carnet.members.view"
    MEMBERS_MANAGE = "carnet.members.manage"
    INVITATIONS_MANAGE = "carnet.invitations.manage"
    CARNET_CONTRIBUTE = "carnet.contribute"  # create or add notes, set their category
    NOTES_ARRANGE = "carnet.notes.arrange"  # order, pin, remove notes
    # notes
    NOTE_VIEW = "note.view"
    NOTE_EDIT = "note.edit"  # body, title, metadata, links
    AUTHORS_MANAGE = "note.authors.manage"
    NOTE_TRANSITION = "note.transition"  # finalise, publish, reopen, unpublish
    NOTE_DELETE = "note.delete"
    COMMENT_CREATE = "note.comment.create"
    COMMENT_EDIT = "note.comment.edit"
    COMMENT_DELETE = "note.comment.delete"


class Verdict(Enum):
    ALLOW = 200
    UNAUTHENTICATED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404


@dataclass(frozen=True, slots=True)
class Access:
    """What is known of one person facing one carnet or note.

    ``role`` is the person's role in the carnet, or for a note the highest of
    their roles in the carnets that hold it. ``public`` says whether anyone may
    read the object: a public carnet, or a public note in a public carnet.
    ``owner`` is true when the person wrote the comment at hand.
    """

    signed_in: bool
    role: Role | None = None
    public: bool = False
    author: bool = False
    owner: bool = False

    def at_least(self, role: Role) -> bool:
        return self.role is not None and self.role.rank >= role.rank


def visible(access: Access) -> bool:
    return access.public or access.role is not None or access.author


def _manager(a: Access) -> bool:
    return a.at_least(Role.MANAGER)


def _author_or_manager(a: Access) -> bool:
    return a.author or a.at_least(Role.MANAGER)


RULES: dict[Action, Callable[[Access], bool]] = {
    Action.CARNET_VIEW: visible,
    Action.CARNET_UPDATE: _manager,
    Action.CARNET_DELETE: _manager,
    Action.MEMBERS_VIEW: lambda a: a.role is not None,
    Action.MEMBERS_MANAGE: _manager,
    Action.INVITATIONS_MANAGE: _manager,
    Action.CARNET_CONTRIBUTE: lambda a: a.at_least(Role.CONTRIBUTOR),
    Action.NOTES_ARRANGE: _manager,
    Action.NOTE_VIEW: visible,
    Action.NOTE_EDIT: lambda a: a.author or a.at_least(Role.CONTRIBUTOR),
    Action.AUTHORS_MANAGE: _author_or_manager,
    Action.NOTE_TRANSITION: _author_or_manager,
    Action.NOTE_DELETE: _author_or_manager,
    Action.COMMENT_CREATE: lambda a: a.signed_in,
    Action.COMMENT_EDIT: lambda a: a.owner,
    Action.COMMENT_DELETE: lambda a: a.owner or a.at_least(Role.MANAGER),
}


def decide(action: Action, access: Access) -> Verdict:
    if not visible(access):
        return Verdict.NOT_FOUND
    if RULES[action](access):
        return Verdict.ALLOW
    return Verdict.FORBIDDEN if access.signed_in else Verdict.UNAUTHENTICATED
