"""The permission matrix through HTTP: every operation, every kind of person, real requests.

One world is built for the module: a public and a private carnet, each holding a
public and a private note; in both carnets a manager, a contributor and a
viewer; an author of every note who is a member of neither carnet; a viewer who
also authors the notes; an outsider; and anonymous visitors. Every (person,
operation, target) triple is one generated case asserting the exact status.
Operations that change or destroy what they act on get fresh objects, made
directly with the storage layer so that the cases stay fast.

The expectation is data written here (who may do what once they can see the
thing, and who can see what), not a call to the rules under test.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest

from carnet.models import LinkKind, Role, Visibility
from carnet.storage import accounts, carnets, comments, notes
from tests.support import People, Person, RunningServer

SUBJECTS = ["anonymous", "outsider", "viewer", "contributor", "manager", "author", "viewer_author"]
MEMBERS = {"viewer", "contributor", "manager", "viewer_author"}
NOTE_AUTHORS = {"author", "viewer_author"}
CATEGORIES = ["Récit", "Glossaire"]

# A password hash made once: fresh users made by storage never sign in.
_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo"


@dataclass
class World:
    db: asyncpg.Pool
    people: dict[str, Person]
    clients: dict[str, httpx.AsyncClient]
    carnet: dict[str, str]  # "public"/"private" -> carnet id
    note: dict[tuple[str, str], str]  # (carnet visibility, note visibility) -> note id
    staging: str  # private carnet of the manager, for notes to attach elsewhere
    targets: str  # public carnet of the manager, for link targets
    writer: Person  # a viewer of both carnets who writes others' comments
    made: list[str] = field(default_factory=list)

    def id(self, subject: str) -> str:
        return self.people[subject].id

    async def _tx(self, job: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
        async with self.db.acquire() as conn, conn.transaction():
            return await job(conn)

    async def user(self) -> tuple[str, str]:
        email = f"fresh-{secrets.token_hex(5)}@example.org"

        async def job(conn: asyncpg.Connection) -> str:
            made = await accounts.create_user(
                conn, email=email, name="Nouvelle Personne", password_hash=_HASH
            )
            return made.id

        return await self._tx(job), email

    async def member(self, carnet_id: str) -> str:
        user_id, _ = await self.user()
        await self._tx(
            lambda c: carnets.add_member(c, carnet_id, user_id, Role.VIEWER, self.id("manager"))
        )
        return user_id

    async def new_note(
        self,
        carnet_id: str,
        visibility: str,
        *,
        authors: list[str] | None = None,
        status: str = "draft",
    ) -> str:
        manager = self.id("manager")
        ids = authors if authors is not None else [self.id("author"), self.id("viewer_author")]

        async def job(conn: asyncpg.Connection) -> str:
            fields = {"title": "Note fraîche", "visibility": Visibility(visibility)}
            note_id = await notes.create_note(conn, carnet_id, manager, fields)
            await notes.set_authors(conn, note_id, ids)
            if status == "finalised":
                await notes.transition_note(conn, note_id, "finalise")
            elif status == "published":
                await notes.transition_note(conn, note_id, "publish")
            return note_id

        return await self._tx(job)

    async def new_carnet(self, visibility: str) -> str:
        manager = self.id("manager")

        async def job(conn: asyncpg.Connection) -> str:
            made = await carnets.create_carnet(
                conn, manager, {"title": "Carnet frais", "visibility": Visibility(visibility)}
            )
            for subject, role in (
                ("contributor", Role.CONTRIBUTOR),
                ("viewer", Role.VIEWER),
                ("viewer_author", Role.VIEWER),
            ):
                await carnets.add_member(conn, made.id, self.id(subject), role, manager)
            return made.id

        return await self._tx(job)

    async def invitation(self, carnet_id: str) -> str:
        made, _ = await self._tx(
            lambda c: carnets.create_invitation(
                c,
                carnet_id,
                role=Role.VIEWER,
                created_by=self.id("manager"),
                expires_at=None,
                max_uses=None,
            )
        )
        return str(made.id)

    async def target(self) -> str:
        """A public note in a public carnet: anybody may link to it."""
        return await self.new_note(self.targets, "public", authors=[self.id("manager")])

    async def link(self, source: str) -> str:
        target = await self.target()
        await self._tx(
            lambda c: notes.add_link(c, source, target, LinkKind.RELATED, self.id("manager"))
        )
        return target

    async def comment(self, note_id: str, author_id: str) -> str:
        made = await self._tx(lambda c: comments.create_comment(c, note_id, author_id, "Merci !"))
        return str(made.id)

    async def order(self, carnet_id: str) -> list[str]:
        rows = await self.db.fetch(
            "SELECT note_id FROM carnet_notes WHERE carnet_id = $1 ORDER BY position", carnet_id
        )
        return [row["note_id"] for row in rows]


@pytest.fixture(scope="module")
async def world(server: RunningServer, db: asyncpg.Pool) -> AsyncIterator[World]:
    made = People(server)
    try:
        people = {s: await made.new(s.replace("_", " ").title()) for s in SUBJECTS[1:]}
        writer = await made.new("Wanda Writer")
        clients = {s: p.client for s, p in people.items()}
        clients["anonymous"] = made.client()
        manager = clients["manager"]

        async def new_carnet(visibility: str) -> str:
            response = await manager.post(
                "/api/carnets",
                json={"title": f"Carnet {visibility}", "visibility": visibility,
                      "categories": CATEGORIES},
            )  # fmt: skip
            assert response.status_code == 201, response.text
            carnet_id: str = response.json()["id"]
            return carnet_id

        carnet = {v: await new_carnet(v) for v in ("public", "private")}
        for carnet_id in carnet.values():
            for subject, role in (
                ("contributor", "contributor"),
                ("viewer", "viewer"),
                ("viewer_author", "viewer"),
            ):
                response = await manager.post(
                    f"/api/carnets/{carnet_id}/members",
                    json={"email": people[subject].email, "role": role},
                )
                assert response.status_code == 201, response.text
            response = await manager.post(
                f"/api/carnets/{carnet_id}/members",
                json={"email": writer.email, "role": "viewer"},
            )
            assert response.status_code == 201, response.text
        note = {}
        for carnet_visibility, carnet_id in carnet.items():
            for visibility in ("public", "private"):
                response = await manager.post(
                    f"/api/carnets/{carnet_id}/notes",
                    json={"title": f"Note {visibility}", "visibility": visibility},
                )
                assert response.status_code == 201, response.text
                note_id = response.json()["id"]
                response = await manager.put(
                    f"/api/notes/{note_id}/authors",
                    json={"user_ids": [people["author"].id, people["viewer_author"].id]},
                )
                assert response.status_code == 200, response.text
                note[carnet_visibility, visibility] = note_id
        staging = await new_carnet("private")
        targets = await new_carnet("public")
        yield World(db, people, clients, carnet, note, staging, targets, writer)
    finally:
        await made.aclose()


# What each operation does ----------------------------------------------------------


@dataclass(frozen=True)
class Op:
    name: str
    level: str  # "global", "carnet" or "note"
    success: int
    run: Callable[[World, str, Any], Awaitable[httpx.Response]]
    anonymous: bool = True  # whether the case exists for anonymous visitors


OPS: list[Op] = []


def op(name: str, level: str, success: int, *, anonymous: bool = True) -> Callable[..., Any]:
    def register(run: Callable[[World, str, Any], Awaitable[httpx.Response]]) -> Any:
        OPS.append(Op(name, level, success, run, anonymous))
        return run

    return register


@op("carnet_create", "global", 201)
async def _carnet_create(w: World, s: str, _: None) -> httpx.Response:
    return await w.clients[s].post("/api/carnets", json={"title": "Mon carnet"})


@op("carnet_view", "carnet", 200)
async def _carnet_view(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].get(f"/api/carnets/{w.carnet[cv]}")


@op("carnet_update", "carnet", 200)
async def _carnet_update(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].patch(
        f"/api/carnets/{w.carnet[cv]}", json={"description": "Rencontre nationale"}
    )


@op("carnet_delete", "carnet", 204)
async def _carnet_delete(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].delete(f"/api/carnets/{await w.new_carnet(cv)}")


@op("members_list", "carnet", 200)
async def _members_list(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].get(f"/api/carnets/{w.carnet[cv]}/members")


@op("member_add", "carnet", 201)
async def _member_add(w: World, s: str, cv: str) -> httpx.Response:
    _, email = await w.user()
    return await w.clients[s].post(
        f"/api/carnets/{w.carnet[cv]}/members", json={"email": email, "role": "viewer"}
    )


@op("member_change", "carnet", 200)
async def _member_change(w: World, s: str, cv: str) -> httpx.Response:
    user_id = await w.member(w.carnet[cv])
    return await w.clients[s].patch(
        f"/api/carnets/{w.carnet[cv]}/members/{user_id}", json={"role": "contributor"}
    )


@op("member_remove", "carnet", 204)
async def _member_remove(w: World, s: str, cv: str) -> httpx.Response:
    user_id = await w.member(w.carnet[cv])
    return await w.clients[s].delete(f"/api/carnets/{w.carnet[cv]}/members/{user_id}")


@op("invitations_list", "carnet", 200)
async def _invitations_list(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].get(f"/api/carnets/{w.carnet[cv]}/invitations")


@op("invitation_create", "carnet", 201)
async def _invitation_create(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].post(
        f"/api/carnets/{w.carnet[cv]}/invitations", json={"role": "viewer", "max_uses": 3}
    )


@op("invitation_revoke", "carnet", 204)
async def _invitation_revoke(w: World, s: str, cv: str) -> httpx.Response:
    invitation_id = await w.invitation(w.carnet[cv])
    return await w.clients[s].delete(f"/api/carnets/{w.carnet[cv]}/invitations/{invitation_id}")


@op("notes_list", "carnet", 200)
async def _notes_list(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].get(f"/api/carnets/{w.carnet[cv]}/notes")


@op("note_create", "carnet", 201)
async def _note_create(w: World, s: str, cv: str) -> httpx.Response:
    return await w.clients[s].post(
        f"/api/carnets/{w.carnet[cv]}/notes",
        json={"title": "2025-02-25 Récit", "category": "Récit"},
    )


@op("note_attach", "carnet", 201)
async def _note_attach(w: World, s: str, cv: str) -> httpx.Response:
    # A note the person may edit (they write it), so only the carnet decides.
    authors = [w.id(s)] if s != "anonymous" else [w.id("manager")]
    note_id = await w.new_note(w.staging, "public", authors=authors)
    return await w.clients[s].post(
        f"/api/carnets/{w.carnet[cv]}/attach", json={"note_id": note_id, "category": "Glossaire"}
    )


@op("place_category", "carnet", 204)
async def _place_category(w: World, s: str, cv: str) -> httpx.Response:
    note_id = w.note[cv, "public"]
    return await w.clients[s].patch(
        f"/api/carnets/{w.carnet[cv]}/notes/{note_id}", json={"category": "Récit"}
    )


@op("place_pin", "carnet", 204)
async def _place_pin(w: World, s: str, cv: str) -> httpx.Response:
    note_id = w.note[cv, "public"]
    return await w.clients[s].patch(
        f"/api/carnets/{w.carnet[cv]}/notes/{note_id}", json={"pinned": False}
    )


@op("note_detach", "carnet", 204)
async def _note_detach(w: World, s: str, cv: str) -> httpx.Response:
    note_id = await w.new_note(w.carnet[cv], "public")
    return await w.clients[s].delete(f"/api/carnets/{w.carnet[cv]}/notes/{note_id}")


@op("notes_reorder", "carnet", 204)
async def _notes_reorder(w: World, s: str, cv: str) -> httpx.Response:
    order = await w.order(w.carnet[cv])
    return await w.clients[s].put(
        f"/api/carnets/{w.carnet[cv]}/order", json={"note_ids": order[::-1]}
    )


NoteTarget = tuple[str, str]


@op("note_view", "note", 200)
async def _note_view(w: World, s: str, t: NoteTarget) -> httpx.Response:
    return await w.clients[s].get(f"/api/notes/{w.note[t]}")


@op("note_update", "note", 200)
async def _note_update(w: World, s: str, t: NoteTarget) -> httpx.Response:
    return await w.clients[s].patch(f"/api/notes/{w.note[t]}", json={"licence": "CC-BY-4.0"})


@op("note_delete", "note", 204)
async def _note_delete(w: World, s: str, t: NoteTarget) -> httpx.Response:
    note_id = await w.new_note(w.carnet[t[0]], t[1])
    return await w.clients[s].delete(f"/api/notes/{note_id}")


def _transition(name: str, start: str) -> None:
    async def run(w: World, s: str, t: NoteTarget) -> httpx.Response:
        note_id = await w.new_note(w.carnet[t[0]], t[1], status=start)
        return await w.clients[s].post(f"/api/notes/{note_id}/{name}")

    op(f"note_{name}", "note", 200)(run)


_transition("finalise", "draft")
_transition("publish", "finalised")
_transition("reopen", "published")
_transition("unpublish", "published")


@op("authors_set", "note", 200)
async def _authors_set(w: World, s: str, t: NoteTarget) -> httpx.Response:
    same = [w.id("author"), w.id("viewer_author")]
    return await w.clients[s].put(f"/api/notes/{w.note[t]}/authors", json={"user_ids": same})


@op("author_add", "note", 201)
async def _author_add(w: World, s: str, t: NoteTarget) -> httpx.Response:
    note_id = await w.new_note(w.carnet[t[0]], t[1])
    return await w.clients[s].post(f"/api/notes/{note_id}/authors", json={"user_id": w.writer.id})


@op("links_list", "note", 200)
async def _links_list(w: World, s: str, t: NoteTarget) -> httpx.Response:
    return await w.clients[s].get(f"/api/notes/{w.note[t]}/links")


@op("link_add", "note", 201)
async def _link_add(w: World, s: str, t: NoteTarget) -> httpx.Response:
    target = await w.target()
    return await w.clients[s].post(
        f"/api/notes/{w.note[t]}/links", json={"target_id": target, "kind": "term"}
    )


@op("link_remove", "note", 204)
async def _link_remove(w: World, s: str, t: NoteTarget) -> httpx.Response:
    target = await w.link(w.note[t])
    return await w.clients[s].delete(f"/api/notes/{w.note[t]}/links/related/{target}")


@op("comments_list", "note", 200)
async def _comments_list(w: World, s: str, t: NoteTarget) -> httpx.Response:
    return await w.clients[s].get(f"/api/notes/{w.note[t]}/comments")


@op("comment_create", "note", 201)
async def _comment_create(w: World, s: str, t: NoteTarget) -> httpx.Response:
    return await w.clients[s].post(f"/api/notes/{w.note[t]}/comments", json={"body": "Bravo"})


@op("comment_edit_others", "note", 200)
async def _comment_edit_others(w: World, s: str, t: NoteTarget) -> httpx.Response:
    comment_id = await w.comment(w.note[t], w.writer.id)
    return await w.clients[s].patch(
        f"/api/notes/{w.note[t]}/comments/{comment_id}", json={"body": "Corrigé"}
    )


@op("comment_delete_others", "note", 204)
async def _comment_delete_others(w: World, s: str, t: NoteTarget) -> httpx.Response:
    comment_id = await w.comment(w.note[t], w.writer.id)
    return await w.clients[s].delete(f"/api/notes/{w.note[t]}/comments/{comment_id}")


@op("comment_edit_own", "note", 200, anonymous=False)
async def _comment_edit_own(w: World, s: str, t: NoteTarget) -> httpx.Response:
    # Written while they could see the note (people lose access: the comment stays).
    comment_id = await w.comment(w.note[t], w.id(s))
    return await w.clients[s].patch(
        f"/api/notes/{w.note[t]}/comments/{comment_id}", json={"body": "Corrigé"}
    )


@op("comment_delete_own", "note", 204, anonymous=False)
async def _comment_delete_own(w: World, s: str, t: NoteTarget) -> httpx.Response:
    comment_id = await w.comment(w.note[t], w.id(s))
    return await w.clients[s].delete(f"/api/notes/{w.note[t]}/comments/{comment_id}")


# The expectation, as data --------------------------------------------------------------

# Who may do it, once they can see the target. Y = allowed, . = refused.
#                                    anon out vie con man aut v+a
MAY: dict[str, str] = {
    "carnet_create":         "   .   Y   Y   Y   Y   Y   Y",
    "carnet_view":           "   Y   Y   Y   Y   Y   Y   Y",
    "carnet_update":         "   .   .   .   .   Y   .   .",
    "carnet_delete":         "   .   .   .   .   Y   .   .",
    "members_list":          "   .   .   Y   Y   Y   .   Y",
    "member_add":            "   .   .   .   .   Y   .   .",
    "member_change":         "   .   .   .   .   Y   .   .",
    "member_remove":         "   .   .   .   .   Y   .   .",
    "invitations_list":      "   .   .   .   .   Y   .   .",
    "invitation_create":     "   .   .   .   .   Y   .   .",
    "invitation_revoke":     "   .   .   .   .   Y   .   .",
    "notes_list":            "   Y   Y   Y   Y   Y   Y   Y",
    "note_create":           "   .   .   .   Y   Y   .   .",
    "note_attach":           "   .   .   .   Y   Y   .   .",
    "place_category":        "   .   .   .   Y   Y   .   .",
    "place_pin":             "   .   .   .   .   Y   .   .",
    "note_detach":           "   .   .   .   .   Y   .   .",
    "notes_reorder":         "   .   .   .   .   Y   .   .",
    "note_view":             "   Y   Y   Y   Y   Y   Y   Y",
    "note_update":           "   .   .   .   Y   Y   Y   Y",
    "note_delete":           "   .   .   .   .   Y   Y   Y",
    "note_finalise":         "   .   .   .   .   Y   Y   Y",
    "note_publish":          "   .   .   .   .   Y   Y   Y",
    "note_reopen":           "   .   .   .   .   Y   Y   Y",
    "note_unpublish":        "   .   .   .   .   Y   Y   Y",
    "authors_set":           "   .   .   .   .   Y   Y   Y",
    "author_add":            "   .   .   .   .   Y   Y   Y",
    "links_list":            "   Y   Y   Y   Y   Y   Y   Y",
    "link_add":              "   .   .   .   Y   Y   Y   Y",
    "link_remove":           "   .   .   .   Y   Y   Y   Y",
    "comments_list":         "   Y   Y   Y   Y   Y   Y   Y",
    "comment_create":        "   .   Y   Y   Y   Y   Y   Y",
    "comment_edit_others":   "   .   .   .   .   .   .   .",
    "comment_delete_others": "   .   .   .   .   Y   .   .",
    "comment_edit_own":      "   -   Y   Y   Y   Y   Y   Y",
    "comment_delete_own":    "   -   Y   Y   Y   Y   Y   Y",
}  # fmt: skip


def _may(name: str, subject: str) -> bool:
    cells = MAY[name].split()
    assert len(cells) == len(SUBJECTS)
    return cells[SUBJECTS.index(subject)] == "Y"


def sees(op: Op, subject: str, target: Any) -> bool:
    """A public carnet, or a public note in one, is seen by all; the rest by members
    of the carnet and, for notes, by their authors."""
    if op.level == "global":
        return True
    if op.level == "carnet":
        return target == "public" or subject in MEMBERS
    carnet_visibility, note_visibility = target
    if carnet_visibility == note_visibility == "public":
        return True
    return subject in MEMBERS or subject in NOTE_AUTHORS


def expected_status(op: Op, subject: str, target: Any) -> int:
    if not sees(op, subject, target):
        return 404
    if _may(op.name, subject):
        return op.success
    return 401 if subject == "anonymous" else 403


def test_the_table_names_every_operation() -> None:
    assert set(MAY) == {o.name for o in OPS}


TARGETS: dict[str, list[Any]] = {
    "global": [None],
    "carnet": ["public", "private"],
    "note": [(c, n) for c in ("public", "private") for n in ("public", "private")],
}


def _target_id(target: Any) -> str:
    if target is None:
        return "-"
    if isinstance(target, tuple):
        return f"{target[0]}-carnet/{target[1]}-note"
    return f"{target}-carnet"


CASES = [
    pytest.param(o, subject, target, id=f"{o.name}-{subject}-{_target_id(target)}")
    for o in OPS
    for target in TARGETS[o.level]
    for subject in SUBJECTS
    if o.anonymous or subject != "anonymous"
]


@pytest.mark.parametrize(("operation", "subject", "target"), CASES)
async def test_status(world: World, operation: Op, subject: str, target: Any) -> None:
    response = await operation.run(world, subject, target)
    assert response.status_code == expected_status(operation, subject, target), response.text
    if response.status_code >= 400:
        body = response.json()
        assert {"detail", "code", "messages"} <= body.keys()


# Status transitions ----------------------------------------------------------------

# From each status, what each transition leads to; absent = 409 and nothing changes.
LEADS_TO = {
    ("draft", "finalise"): "finalised",
    ("draft", "publish"): "published",
    ("finalised", "publish"): "published",
    ("finalised", "reopen"): "draft",
    ("published", "reopen"): "draft",
    ("published", "unpublish"): "finalised",
}

TRANSITION_CASES = [
    pytest.param(start, name, id=f"{start}-{name}")
    for start in ("draft", "finalised", "published")
    for name in ("finalise", "publish", "reopen", "unpublish")
]


@pytest.mark.parametrize(("start", "transition"), TRANSITION_CASES)
async def test_transition(world: World, start: str, transition: str) -> None:
    note_id = await world.new_note(world.carnet["public"], "public", status=start)
    author = world.clients["author"]
    before = (await author.get(f"/api/notes/{note_id}")).json()
    assert before["status"] == start
    response = await author.post(f"/api/notes/{note_id}/{transition}")
    after = (await author.get(f"/api/notes/{note_id}")).json()
    target = LEADS_TO.get((start, transition))
    if target is None:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid_transition"
        assert after == before
        return
    assert response.status_code == 200, response.text
    assert response.json()["status"] == after["status"] == target
    assert (after["finalised_at"] is not None) == (target in ("finalised", "published"))
    if target == "published":
        assert after["published_at"] is not None
        assert after["published_at"] >= after["finalised_at"]
    # Only a draft takes edits.
    edit = await author.patch(f"/api/notes/{note_id}", json={"title": "Retouche"})
    assert edit.status_code == (200 if target == "draft" else 409), edit.text
