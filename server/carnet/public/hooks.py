"""What publishing, finalising and commenting set off, called by the note and comment API.

- publishing freezes the revision just recorded as the note's published
  version and indexes it for everyone's search;
- unpublishing withdraws it (``/n/{note_id}`` answers 410) and drops it from
  the public index; reopening leaves it in place;
- finalising, publishing and new comments notify the note's other authors.
"""

from __future__ import annotations

import asyncpg

from carnet.render import render
from carnet.storage import documents as store
from carnet.storage import notifications, publications, search
from carnet.sync import history

SUMMARY_CHARS = 300


def summary(text: str, limit: int = SUMMARY_CHARS) -> str:
    """The first words of a text, on one line, cut at a word boundary."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.") + "…"


async def after_transition(
    conn: asyncpg.Connection,
    note_id: str,
    transition: str,
    user_id: str | None,
    revision: store.Revision | None,
) -> None:
    if transition == "publish" and revision is not None:
        state = await publications.publication_state(conn, revision.id)
        text = render(history.doc_from_state(state), "text")
        await publications.publish(
            conn, note_id, revision_id=revision.id, summary=summary(text), user_id=user_id
        )
        await search.store_published(conn, note_id, text)
        await notifications.notify_authors(conn, note_id, "published", user_id)
    elif transition == "unpublish":
        await publications.withdraw(conn, note_id, user_id)
        await search.drop_published(conn, note_id)
    elif transition == "finalise":
        await notifications.notify_authors(conn, note_id, "finalised", user_id)


async def after_comment(
    conn: asyncpg.Connection, note_id: str, comment_id: str, user_id: str
) -> None:
    await notifications.notify_authors(conn, note_id, "comment", user_id, comment_id=comment_id)
