"""Revision history of a note body: record, render, compare and restore.

A revision is a full encoded state, so it renders alone. Restoring one is a
new forward change computed against the current document — the body's
children are replaced by copies of the revision's — applied like any edit,
so live clients converge on it and the log is never rewritten. Only the
note body (the ``default`` fragment Tiptap edits) is restored; other shared
types keep their current content.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import re
from typing import Any, Literal

import asyncpg
import msgspec
import pycrdt

from carnet.render import render_text
from carnet.storage import documents as store
from carnet.sync.rooms import Rooms, build_doc

BODY = "default"


def doc_from_state(state: bytes) -> pycrdt.Doc[Any]:
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.apply_update(state)
    return doc


def body(doc: pycrdt.Doc[Any]) -> pycrdt.XmlFragment:
    fragment: pycrdt.XmlFragment = doc.get(BODY, type=pycrdt.XmlFragment)
    return fragment


async def current_document(
    rooms: Rooms, conn: asyncpg.Connection, note_id: str
) -> tuple[pycrdt.Doc[Any], int]:
    """The note's document as stored, once every update accepted so far is saved.

    While the database is unreachable the wait is cut short: the answer may then
    miss the last seconds of typing, which stay safe in the persister's queue.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5):
            await rooms.persister.drain()
    stored = await store.load_document(conn, note_id)
    return build_doc(stored), stored.last_seq


async def record_revision(
    rooms: Rooms, conn: asyncpg.Connection, note_id: str, reason: str, user_id: str | None
) -> store.Revision:
    doc, seq = await current_document(rooms, conn, note_id)
    return await store.add_revision(
        conn,
        note_id,
        seq=seq,
        state=doc.get_update(),
        reason=reason,
        contributors=[user_id] if user_id else [],
        created_by=user_id,
    )


def _items(element: pycrdt.XmlElement) -> list[tuple[str, Any]]:
    # XmlAttributesView.__iter__ is typed as returning an Iterable, not an Iterator.
    return list(element.attributes.__iter__())


def _copy_children(source: pycrdt.XmlFragment | pycrdt.XmlElement, target: Any) -> None:
    for index, child in enumerate(source.children):
        if isinstance(child, pycrdt.XmlText):
            text = target.children.insert(index, pycrdt.XmlText())
            offset = 0
            for chunk, attrs in child.diff():
                if isinstance(chunk, str):
                    text.insert(offset, chunk, attrs or None)
                    offset += len(chunk.encode())  # XmlText offsets count UTF-8 bytes
        elif isinstance(child, pycrdt.XmlElement):
            attributes = dict(_items(child))
            element = target.children.insert(index, pycrdt.XmlElement(child.tag, attributes))
            _copy_children(child, element)


def restoring_update(current: pycrdt.Doc[Any], revision: pycrdt.Doc[Any]) -> bytes:
    """The update that makes ``current``'s body equal to ``revision``'s."""
    before = current.get_state()
    fragment = body(current)
    with current.transaction():
        del fragment.children[0 : len(fragment.children)]
        _copy_children(body(revision), fragment)
    return current.get_update(before)


async def restore_revision(
    rooms: Rooms, conn: asyncpg.Connection, note_id: str, state: bytes, user_id: str
) -> None:
    current, _ = await current_document(rooms, conn, note_id)
    update = restoring_update(current, doc_from_state(state))
    await rooms.apply_server_update(note_id, update, user_id)


class Change(msgspec.Struct, frozen=True):
    op: Literal["equal", "insert", "delete"]
    text: str


_WORDS = re.compile(r"\s+|[^\s]+")


def diff_text(old: str, new: str) -> list[Change]:
    """Word-level insertions and deletions from ``old`` to ``new``."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    changes: list[Change] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            changes.append(Change("equal", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            changes.append(Change("delete", "".join(a[i1:i2])))
        if j2 > j1:
            changes.append(Change("insert", "".join(b[j1:j2])))
    return changes


def body_text(doc: pycrdt.Doc[Any]) -> str:
    return render_text(body(doc))
