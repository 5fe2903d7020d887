"""The sans-IO room, on bytes alone: fake peers, a fake store, no sockets, no database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pycrdt
import pytest

from carnet.sync import protocol as wire
from carnet.sync.limits import Limits
from carnet.sync.room import Close, Room


@dataclass(eq=False)
class FakePeer:
    editor: bool = True
    user_id: str | None = "u1"
    name: str = "Alice"
    saved_count: int = 0
    unsaved: int = 0
    announced: set[int] = field(default_factory=set)
    frames: list[bytes] = field(default_factory=list)
    closed: Close | None = None

    def send(self, frame: bytes) -> None:
        self.frames.append(frame)

    def close(self, reason: Close) -> None:
        self.closed = reason

    def messages(self) -> list[wire.Message]:
        return [wire.decode(frame) for frame in self.frames]


class FakeStore:
    """Saves nothing; ``commit`` acknowledges everything, as the persister does after a commit."""

    def __init__(self) -> None:
        self.saved: list[tuple[str, bytes, str | None, Callable[[int | None], None]]] = []
        self.room: Room | None = None

    def __call__(
        self, note_id: str, data: bytes, user_id: str | None, on_saved: Callable[[int | None], None]
    ) -> None:
        self.saved.append((note_id, data, user_id, on_saved))

    def commit(self) -> None:
        for seq, (_, _, _, on_saved) in enumerate(self.saved, start=1):
            on_saved(seq)
        self.saved.clear()
        assert self.room is not None
        self.room.flush_acks()


def make_room(**limits: Any) -> tuple[Room, FakeStore]:
    store = FakeStore()
    store.room = Room(note_id="n1", doc=pycrdt.Doc(), save=store, limits=Limits(**limits))
    return store.room, store


def typed(text: str, client_id: int = 7) -> bytes:
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
    doc.get("t", type=pycrdt.Text).insert(0, text)
    return doc.get_update()


def test_join_sends_our_sync_step1_and_answers_theirs() -> None:
    room, _ = make_room()
    peer = FakePeer()
    room.join(peer)
    assert peer.messages() == [wire.SyncStep1(room.doc.get_state())]
    room.receive(peer, wire.SyncStep1(wire.EMPTY_UPDATE[:1]))
    assert isinstance(peer.messages()[-1], wire.SyncStep2)


def test_updates_are_echoed_to_editors_and_acknowledged_after_commit() -> None:
    room, store = make_room()
    alice, bob = FakePeer(), FakePeer(user_id="u2")
    room.join(alice)
    room.join(bob)
    update = typed("bonjour")
    room.receive(alice, wire.SyncUpdate(update))
    assert alice.messages()[-1] == wire.SyncUpdate(update)  # the echo
    assert bob.messages()[-1] == wire.SyncUpdate(update)
    assert not any(isinstance(m, wire.Saved) for m in alice.messages())  # not yet committed
    store.commit()
    assert alice.messages()[-1] == wire.Saved(1, 1)
    assert room.contributors == {"u1"} and room.seq == 1


async def test_viewers_get_one_merged_frame_per_tick() -> None:
    room, _ = make_room(viewer_interval=0.01)
    editor, viewer = FakePeer(), FakePeer(editor=False, user_id=None)
    room.join(editor)
    room.join(viewer)
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=9)
    text = doc.get("t", type=pycrdt.Text)
    for word in ("un ", "deux ", "trois"):
        state = doc.get_state()
        text.insert(len(str(text)), word)
        room.receive(editor, wire.SyncUpdate(doc.get_update(state)))
    await asyncio.sleep(0.05)
    updates = [m for m in viewer.messages() if isinstance(m, wire.SyncUpdate)]
    assert len(updates) == 1
    replica: pycrdt.Doc[Any] = pycrdt.Doc()
    replica.apply_update(updates[0].update)
    assert str(replica.get("t", type=pycrdt.Text)) == "un deux trois"


def test_read_only_peers_cannot_write_but_keep_their_connection() -> None:
    room, store = make_room()
    viewer = FakePeer(editor=False)
    room.join(viewer)
    room.receive(viewer, wire.SyncStep2(wire.EMPTY_UPDATE))  # the standard handshake reply
    room.receive(viewer, wire.SyncUpdate(typed("intrus")))
    assert viewer.messages()[-1] == wire.PermissionDenied("read-only")
    assert str(room.doc.get("t", type=pycrdt.Text)) == "" and not store.saved


def test_presence_is_relayed_and_removed_with_its_connection_only() -> None:
    room, _ = make_room()
    alice, bob = FakePeer(), FakePeer(user_id="u2")
    room.join(alice)
    room.join(bob)
    mine = wire.encode_awareness([wire.AwarenessEntry(11, 3, '{"name":"Alice"}')])
    room.receive(alice, wire.AwarenessMessage(mine))
    assert bob.messages()[-1] == wire.AwarenessMessage(mine)
    # Bob cannot take over or remove Alice's client id.
    forged = wire.encode_awareness([wire.AwarenessEntry(11, 4, "null")])
    room.receive(bob, wire.AwarenessMessage(forged))
    assert 11 in room.presence
    room.leave(alice)
    removal = wire.decode_awareness(bob.messages()[-1].payload)  # type: ignore[union-attr]
    assert removal == [wire.AwarenessEntry(11, 3, "null")]
    assert room.presence == {}


def test_a_rejected_update_closes_only_that_connection() -> None:
    room, _ = make_room()
    peer = FakePeer()
    room.join(peer)
    with pytest.raises(Close) as closed:
        room.receive(peer, wire.SyncUpdate(b"\x01\x05\xff\xff"))
    assert closed.value.code == 4400
    room.receive(peer, wire.SyncUpdate(typed("ok")))
    assert str(room.doc.get("t", type=pycrdt.Text)) == "ok"


def test_pending_updates_are_tracked_until_their_parents_arrive() -> None:
    room, _ = make_room()
    peer = FakePeer()
    room.join(peer)
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=5)
    text = doc.get("t", type=pycrdt.Text)
    text.insert(0, "parent ")
    parent, state = doc.get_update(), doc.get_state()
    text.insert(7, "enfant")
    child = doc.get_update(state)
    room.receive(peer, wire.SyncUpdate(child))
    assert room.pending == [child]
    room.receive(peer, wire.SyncUpdate(parent))
    assert room.pending == []
    assert str(room.doc.get("t", type=pycrdt.Text)) == "parent enfant"


def test_a_deletion_arriving_before_what_it_deletes_is_pending() -> None:
    room, _ = make_room()
    peer = FakePeer()
    room.join(peer)
    doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=5)
    text = doc.get("t", type=pycrdt.Text)
    text.insert(0, "effacé")
    insert, state = doc.get_update(), doc.get_state()
    del text[0:3]
    deletion = doc.get_update(state)
    room.receive(peer, wire.SyncUpdate(deletion))
    assert room.pending == [deletion]
    room.receive(peer, wire.SyncUpdate(insert))
    assert room.pending == []


def test_finalised_rooms_refuse_edits_from_everyone() -> None:
    room, store = make_room()
    editor = FakePeer()
    room.join(editor)
    room.set_read_only(True)
    assert editor.messages()[-1] == wire.Status("read_only", "note status changed")
    room.receive(editor, wire.SyncUpdate(typed("trop tard")))
    assert editor.messages()[-1] == wire.PermissionDenied("read-only") and not store.saved


def test_one_saved_message_per_connection_per_commit() -> None:
    room, store = make_room()
    editor = FakePeer()
    room.join(editor)
    for word in ("un", "deux", "trois"):
        room.receive(editor, wire.SyncUpdate(typed(word, client_id=len(word))))
    store.commit()
    saved = [m for m in editor.messages() if isinstance(m, wire.Saved)]
    assert saved == [wire.Saved(3, 3)]
