"""What happens to notes and carnets, told to whoever listens.

REST handlers publish events after their transaction commits; the rooms
(a finalised note turns read-only at once) and the live carnet feeds listen.
With Redis configured the same events cross processes (see
:mod:`carnet.fanout`); without it they stay in this process.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

import msgspec

logger = logging.getLogger(__name__)


class NoteChanged(msgspec.Struct, frozen=True, tag="note", tag_field="event"):
    """A note was created, changed, deleted, or added to or removed from a carnet."""

    action: Literal["created", "updated", "deleted", "attached", "detached"]
    note_id: str
    carnet_ids: list[str]
    title: str = ""
    status: str = ""
    visibility: str = ""
    type: str = ""


class OrderChanged(msgspec.Struct, frozen=True, tag="order", tag_field="event"):
    carnet_id: str


class PresenceChanged(msgspec.Struct, frozen=True, tag="presence", tag_field="event"):
    """Who is in a note: editors by name, viewers by count (per process)."""

    note_id: str
    process: str
    editors: list[str]
    viewers: int
    last_edit: float | None = None


class AccessChanged(msgspec.Struct, frozen=True, tag="access", tag_field="event"):
    """Someone's rights may have shrunk: open sockets re-check theirs."""

    user_id: str | None = None
    carnet_id: str | None = None
    note_id: str | None = None


Event = NoteChanged | OrderChanged | PresenceChanged | AccessChanged
Listener = Callable[[Event], None]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Event)


def encode_event(event: Event) -> bytes:
    return _encoder.encode(event)


def decode_event(data: bytes) -> Event:
    event: Event = _decoder.decode(data)
    return event


class EventBus:
    """In-process delivery; :class:`carnet.fanout.RedisFanout` extends it across processes."""

    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._relay: Callable[[Event], None] | None = None

    def listen(self, listener: Listener) -> Callable[[], None]:
        self._listeners.add(listener)
        return lambda: self._listeners.discard(listener)

    def relay_to(self, relay: Callable[[Event], None]) -> None:
        """Also hand every published event to ``relay`` (the cross-process fan-out)."""
        self._relay = relay

    def publish(self, event: Event) -> None:
        self.deliver(event)
        if self._relay is not None:
            self._relay(event)

    def deliver(self, event: Event) -> None:
        """Hand an event to this process's listeners only."""
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                logger.exception("event listener failed on %r", event)
