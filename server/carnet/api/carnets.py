"""Carnets, their members, invitations and the notes they hold."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromQuery, JSONBody, QueryParameter

from carnet.api.dependencies import (
    AppSettings,
    Conn,
    CurrentUser,
    CurrentViewer,
    EventOutbox,
    PageWindow,
)
from carnet.api.notify import note_changed
from carnet.api.schemas import (
    NO_NUL,
    Attach,
    CarnetCreate,
    CarnetUpdate,
    InvitationCreate,
    MemberAdd,
    MemberUpdate,
    NewInvitation,
    NoteCreate,
    Order,
    PathId,
    PlaceUpdate,
)
from carnet.authorize import authorize_carnet, authorize_note
from carnet.errors import AppError
from carnet.events import AccessChanged, OrderChanged
from carnet.models import (
    Carnet,
    Invitation,
    Member,
    Note,
    NoteStatus,
    NoteSummary,
    NoteType,
    Page,
)
from carnet.permissions import Action
from carnet.storage import accounts, carnets, notes

CarnetId = PathId


def _no_such_person(email: str) -> AppError:
    return AppError(
        422,
        "unknown_email",
        f"Aucun compte n’existe pour {email}.",
        f"No account exists for {email}.",
    )


class CarnetController(Controller):
    path = "/api/carnets"
    tags = ["carnets"]

    @get("/")
    async def list_carnets(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        window: PageWindow,
        listing: Annotated[Literal["mine", "public"] | None, QueryParameter(name="scope")] = None,
    ) -> Page[Carnet]:
        """My carnets when signed in, else (or with ``scope=public``) the public ones."""
        mine = (listing or ("mine" if viewer.user else "public")) == "mine"
        if mine and viewer.user is None:
            return Page(items=[], total=0, limit=window.limit, offset=window.offset)
        items, total = await carnets.list_carnets(
            conn, viewer.user_id, mine=mine, limit=window.limit, offset=window.offset
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/")
    async def create_carnet(
        self, conn: Conn, user: CurrentUser, data: JSONBody[CarnetCreate]
    ) -> Carnet:
        return await carnets.create_carnet(conn, user.id, data.given())

    @get("/{carnet_id:str}")
    async def get_carnet(self, conn: Conn, viewer: CurrentViewer, carnet_id: CarnetId) -> Carnet:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_VIEW)
        carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
        assert carnet is not None
        return carnet

    @patch("/{carnet_id:str}")
    async def update_carnet(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        data: JSONBody[CarnetUpdate],
    ) -> Carnet:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_UPDATE)
        assert viewer.user_id is not None
        fields = data.given()
        if "visibility" in fields:
            outbox.add(AccessChanged(carnet_id=carnet_id))
        return await carnets.update_carnet(conn, carnet_id, viewer.user_id, fields)

    @delete("/{carnet_id:str}")
    async def delete_carnet(
        self, conn: Conn, viewer: CurrentViewer, outbox: EventOutbox, carnet_id: CarnetId
    ) -> None:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_DELETE)
        await carnets.delete_carnet(conn, carnet_id)
        outbox.add(AccessChanged(carnet_id=carnet_id))

    # Members -------------------------------------------------------------------

    @get("/{carnet_id:str}/members")
    async def list_members(
        self, conn: Conn, viewer: CurrentViewer, carnet_id: CarnetId, window: PageWindow
    ) -> Page[Member]:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.MEMBERS_VIEW)
        items, total = await carnets.list_members(
            conn, carnet_id, limit=window.limit, offset=window.offset
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/{carnet_id:str}/members")
    async def add_member(
        self, conn: Conn, viewer: CurrentViewer, carnet_id: CarnetId, data: JSONBody[MemberAdd]
    ) -> Member:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.MEMBERS_MANAGE)
        assert viewer.user_id is not None
        person = await accounts.user_by_email(conn, data.email)
        if person is None:
            raise _no_such_person(data.email)
        return await carnets.add_member(conn, carnet_id, person.id, data.role, viewer.user_id)

    @patch("/{carnet_id:str}/members/{user_id:str}")
    async def change_member(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        user_id: PathId,
        data: JSONBody[MemberUpdate],
    ) -> Member:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.MEMBERS_MANAGE)
        outbox.add(AccessChanged(user_id=user_id, carnet_id=carnet_id))
        return await carnets.change_member_role(conn, carnet_id, user_id, data.role)

    @delete("/{carnet_id:str}/members/{user_id:str}")
    async def remove_member(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        user_id: PathId,
    ) -> None:
        """Managers remove anyone; every member may leave."""
        action = Action.CARNET_VIEW if user_id == viewer.user_id else Action.MEMBERS_MANAGE
        await authorize_carnet(conn, carnet_id, viewer.user_id, action)
        await carnets.remove_member(conn, carnet_id, user_id)
        outbox.add(AccessChanged(user_id=user_id, carnet_id=carnet_id))

    # Invitations -----------------------------------------------------------------

    @get("/{carnet_id:str}/invitations")
    async def list_invitations(
        self, conn: Conn, viewer: CurrentViewer, carnet_id: CarnetId, window: PageWindow
    ) -> Page[Invitation]:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.INVITATIONS_MANAGE)
        items, total = await carnets.list_invitations(
            conn, carnet_id, limit=window.limit, offset=window.offset
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/{carnet_id:str}/invitations")
    async def create_invitation(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        settings: AppSettings,
        carnet_id: CarnetId,
        data: JSONBody[InvitationCreate],
    ) -> NewInvitation:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.INVITATIONS_MANAGE)
        assert viewer.user_id is not None
        invitation, secret = await carnets.create_invitation(
            conn,
            carnet_id,
            role=data.role,
            created_by=viewer.user_id,
            expires_at=data.expires_at,
            max_uses=data.max_uses,
        )
        return NewInvitation(
            id=invitation.id,
            role=invitation.role,
            token=secret,
            url=f"{settings.base_url}/invitations/{secret}",
            expires_at=invitation.expires_at,
            max_uses=invitation.max_uses,
        )

    @delete("/{carnet_id:str}/invitations/{invitation_id:str}")
    async def revoke_invitation(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        carnet_id: CarnetId,
        invitation_id: PathId,
    ) -> None:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.INVITATIONS_MANAGE)
        await carnets.revoke_invitation(conn, carnet_id, invitation_id)

    # Notes in the carnet -------------------------------------------------------------

    @get("/{carnet_id:str}/notes")
    async def list_notes(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        carnet_id: CarnetId,
        window: PageWindow,
        category: Annotated[str | None, QueryParameter(max_length=80, pattern=NO_NUL)] = None,
        type: FromQuery[NoteType | None] = None,
        status: FromQuery[NoteStatus | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=200, pattern=NO_NUL)] = None,
    ) -> Page[NoteSummary]:
        """Pinned notes first, then in the managers' order; filters combine."""
        access = await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_VIEW)
        filters = {
            name: str(value)
            for name, value in (
                ("category", category),
                ("type", type),
                ("status", status),
                ("q", q),
            )
            if value
        }
        items, total = await notes.list_carnet_notes(
            conn,
            carnet_id,
            viewer.user_id,
            member=access.role is not None,
            filters=filters,
            limit=window.limit,
            offset=window.offset,
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/{carnet_id:str}/notes")
    async def create_note(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        data: JSONBody[NoteCreate],
    ) -> Note:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_CONTRIBUTE)
        assert viewer.user_id is not None
        fields = data.given()
        if "visibility" not in fields:
            carnet = await carnets.get_carnet(conn, carnet_id, viewer.user_id)
            assert carnet is not None
            fields["visibility"] = carnet.visibility
        note_id = await notes.create_note(
            conn, carnet_id, viewer.user_id, fields, category=data.category
        )
        await note_changed(conn, outbox, "created", note_id)
        note = await notes.get_note(conn, note_id, viewer.user_id)
        assert note is not None
        return note

    @post("/{carnet_id:str}/attach")
    async def attach_note(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        data: JSONBody[Attach],
    ) -> Note:
        """Add an existing note, which the person may edit, to this carnet too."""
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.CARNET_CONTRIBUTE)
        await authorize_note(conn, data.note_id, viewer.user_id, Action.NOTE_EDIT)
        assert viewer.user_id is not None
        await notes.attach_note(
            conn, carnet_id, data.note_id, viewer.user_id, category=data.category
        )
        await note_changed(conn, outbox, "attached", data.note_id)
        outbox.add(AccessChanged(note_id=data.note_id))
        note = await notes.get_note(conn, data.note_id, viewer.user_id)
        assert note is not None
        return note

    @patch("/{carnet_id:str}/notes/{note_id:str}", status_code=204)
    async def update_place(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        note_id: PathId,
        data: JSONBody[PlaceUpdate],
    ) -> None:
        """Categorise (contributors) or pin (managers) a note in this carnet."""
        fields = data.given()
        action = Action.NOTES_ARRANGE if "pinned" in fields else Action.CARNET_CONTRIBUTE
        await authorize_carnet(conn, carnet_id, viewer.user_id, action)
        await notes.update_place(conn, carnet_id, note_id, fields)
        outbox.add(OrderChanged(carnet_id=carnet_id))

    @delete("/{carnet_id:str}/notes/{note_id:str}")
    async def detach_note(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        note_id: PathId,
    ) -> None:
        """Take a note out of this carnet (the note itself stays)."""
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.NOTES_ARRANGE)
        await notes.detach_note(conn, carnet_id, note_id)
        await note_changed(conn, outbox, "detached", note_id, also_carnets=[carnet_id])
        outbox.add(AccessChanged(note_id=note_id))

    @put("/{carnet_id:str}/order", status_code=204)
    async def reorder(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        outbox: EventOutbox,
        carnet_id: CarnetId,
        data: JSONBody[Order],
    ) -> None:
        await authorize_carnet(conn, carnet_id, viewer.user_id, Action.NOTES_ARRANGE)
        await notes.reorder_notes(conn, carnet_id, data.note_ids)
        outbox.add(OrderChanged(carnet_id=carnet_id))
