"""The permission matrix (carnet.permissions), case by case, without a server.

The expectation below is written as data — one line per action, one column per
kind of person — and not derived from the rules under test. Every kind of
person meets every action on a public and on a private object.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from carnet.models import Role
from carnet.permissions import Access, Action, Verdict, decide


@dataclass(frozen=True)
class Subject:
    label: str
    access_to_private: Access  # what storage knows of them facing a private object

    def facing(self, public: bool) -> Access:
        a = self.access_to_private
        return Access(
            signed_in=a.signed_in, role=a.role, public=public, author=a.author, owner=a.owner
        )


def _signed(role: Role | None = None, *, author: bool = False, owner: bool = False) -> Access:
    return Access(signed_in=True, role=role, author=author, owner=owner)


V, C, M = Role.VIEWER, Role.CONTRIBUTOR, Role.MANAGER

# Column order of the table. "aut" is a note author; "own" wrote the comment at hand.
SUBJECTS = [
    Subject("anon", Access(signed_in=False)),
    Subject("out", _signed()),
    Subject("vie", _signed(V)),
    Subject("con", _signed(C)),
    Subject("man", _signed(M)),
    Subject("aut", _signed(author=True)),
    Subject("aut+vie", _signed(V, author=True)),
    Subject("aut+con", _signed(C, author=True)),
    Subject("aut+man", _signed(M, author=True)),
    Subject("own+out", _signed(owner=True)),
    Subject("own+vie", _signed(V, owner=True)),
    Subject("own+con", _signed(C, owner=True)),
    Subject("own+man", _signed(M, owner=True)),
    Subject("own+aut", _signed(author=True, owner=True)),
]

# Who may do what to a thing they can see. Y = allowed, . = not allowed.
#                                  anon out vie con man aut a+v a+c a+m o+o o+v o+c o+m o+a
MAY: dict[Action, str] = {
    Action.CARNET_VIEW:          "   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y",
    Action.CARNET_UPDATE:        "   .   .   .   .   Y   .   .   .   Y   .   .   .   Y   .",
    Action.CARNET_DELETE:        "   .   .   .   .   Y   .   .   .   Y   .   .   .   Y   .",
    Action.MEMBERS_VIEW:         "   .   .   Y   Y   Y   .   Y   Y   Y   .   Y   Y   Y   .",
    Action.MEMBERS_MANAGE:       "   .   .   .   .   Y   .   .   .   Y   .   .   .   Y   .",
    Action.INVITATIONS_MANAGE:   "   .   .   .   .   Y   .   .   .   Y   .   .   .   Y   .",
    Action.CARNET_CONTRIBUTE:    "   .   .   .   Y   Y   .   .   Y   Y   .   .   Y   Y   .",
    Action.NOTES_ARRANGE:        "   .   .   .   .   Y   .   .   .   Y   .   .   .   Y   .",
    Action.NOTE_VIEW:            "   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y",
    Action.NOTE_EDIT:            "   .   .   .   Y   Y   Y   Y   Y   Y   .   .   Y   Y   Y",
    Action.AUTHORS_MANAGE:       "   .   .   .   .   Y   Y   Y   Y   Y   .   .   .   Y   Y",
    Action.NOTE_TRANSITION:      "   .   .   .   .   Y   Y   Y   Y   Y   .   .   .   Y   Y",
    Action.NOTE_DELETE:          "   .   .   .   .   Y   Y   Y   Y   Y   .   .   .   Y   Y",
    Action.COMMENT_CREATE:       "   .   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y   Y",
    Action.COMMENT_EDIT:         "   .   .   .   .   .   .   .   .   .   Y   Y   Y   Y   Y",
    Action.COMMENT_DELETE:       "   .   .   .   .   Y   .   .   .   Y   Y   Y   Y   Y   Y",
}  # fmt: skip

# Who can see a private thing at all (a public one, everybody).
#                                  anon out vie con man aut a+v a+c a+m o+o o+v o+c o+m o+a
SEES_PRIVATE: str = "   .   .   Y   Y   Y   Y   Y   Y   Y   .   Y   Y   Y   Y"  # fmt: skip


def _row(line: str) -> dict[str, bool]:
    cells = line.split()
    assert len(cells) == len(SUBJECTS), line
    return {s.label: cell == "Y" for s, cell in zip(SUBJECTS, cells, strict=True)}


def expected(action: Action, subject: Subject, public: bool) -> Verdict:
    if not public and not _row(SEES_PRIVATE)[subject.label]:
        return Verdict.NOT_FOUND
    if _row(MAY[action])[subject.label]:
        return Verdict.ALLOW
    if subject.label == "anon":
        return Verdict.UNAUTHENTICATED
    return Verdict.FORBIDDEN


def test_the_table_covers_every_action() -> None:
    assert set(MAY) == set(Action)


CASES = [
    pytest.param(action, subject, public, id=f"{action.value}-{subject.label}-{visibility}")
    for action in Action
    for subject in SUBJECTS
    for public, visibility in ((True, "public"), (False, "private"))
]


@pytest.mark.parametrize(("action", "subject", "public"), CASES)
def test_decide(action: Action, subject: Subject, public: bool) -> None:
    assert decide(action, subject.facing(public)) is expected(action, subject, public)


def test_never_reveals_a_private_thing_to_anonymous_people() -> None:
    for action in Action:
        assert decide(action, Access(signed_in=False)) is Verdict.NOT_FOUND


def test_verdicts_map_to_http_statuses() -> None:
    assert [v.value for v in Verdict] == [200, 401, 403, 404]
