"""The discussion under a note."""

from __future__ import annotations

from dataclasses import replace

from litestar import Controller, delete, get, patch, post
from litestar.params import JSONBody

from carnet.api.dependencies import Conn, CurrentViewer, PageWindow
from carnet.api.schemas import CommentCreate, PathId
from carnet.authorize import authorize_note
from carnet.errors import not_found, refused
from carnet.models import Comment, Page
from carnet.permissions import Action, Verdict, decide
from carnet.public.hooks import after_comment
from carnet.storage import comments

NoteId = PathId
CommentId = PathId


class CommentController(Controller):
    path = "/api/notes/{note_id:str}/comments"
    tags = ["comments"]

    @get("/")
    async def list_comments(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, window: PageWindow
    ) -> Page[Comment]:
        await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        items, total = await comments.list_comments(
            conn, note_id, limit=window.limit, offset=window.offset
        )
        return Page(items=items, total=total, limit=window.limit, offset=window.offset)

    @post("/")
    async def create_comment(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, data: JSONBody[CommentCreate]
    ) -> Comment:
        await authorize_note(conn, note_id, viewer.user_id, Action.COMMENT_CREATE)
        assert viewer.user_id is not None
        comment = await comments.create_comment(conn, note_id, viewer.user_id, data.body)
        await after_comment(conn, note_id, comment.id, viewer.user_id)  # notify the authors
        return comment

    async def _authorize_on_comment(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        note_id: str,
        comment_id: str,
        action: Action,
    ) -> Comment:
        access, _ = await authorize_note(conn, note_id, viewer.user_id, Action.NOTE_VIEW)
        comment = await comments.get_comment(conn, note_id, comment_id)
        if comment is None or comment.deleted:
            raise not_found()
        owner = comment.author is not None and comment.author.id == viewer.user_id
        verdict = decide(action, replace(access, owner=owner))
        if verdict is not Verdict.ALLOW:
            raise refused(verdict)
        return comment

    @patch("/{comment_id:str}")
    async def edit_comment(
        self,
        conn: Conn,
        viewer: CurrentViewer,
        note_id: NoteId,
        comment_id: CommentId,
        data: JSONBody[CommentCreate],
    ) -> Comment:
        await self._authorize_on_comment(conn, viewer, note_id, comment_id, Action.COMMENT_EDIT)
        await comments.edit_comment(conn, comment_id, data.body)
        edited = await comments.get_comment(conn, note_id, comment_id)
        assert edited is not None
        return edited

    @delete("/{comment_id:str}")
    async def delete_comment(
        self, conn: Conn, viewer: CurrentViewer, note_id: NoteId, comment_id: CommentId
    ) -> None:
        await self._authorize_on_comment(conn, viewer, note_id, comment_id, Action.COMMENT_DELETE)
        assert viewer.user_id is not None
        await comments.delete_comment(conn, comment_id, viewer.user_id)
