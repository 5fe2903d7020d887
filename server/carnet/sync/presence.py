"""Who is in which note, told to the live carnet feeds, a few times a second at most."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Callable

from carnet.events import EventBus, PresenceChanged
from carnet.sync.room import Room


def new_instance_id() -> str:
    """Names this app instance among the server processes sharing Redis."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


_INTERVAL = 0.25


def presence_event(room: Room, instance: str) -> PresenceChanged:
    editors = sorted({peer.name for peer in room.peers if peer.editor and peer.name})
    wall_clock_edit = time.time() - (time.monotonic() - room.last_edit) if room.last_edit else None
    return PresenceChanged(
        note_id=room.note_id,
        process=instance,
        editors=editors,
        viewers=room.viewers,
        last_edit=wall_clock_edit,
    )


def presence_publisher(bus: EventBus, instance: str) -> Callable[[Room], None]:
    """A room callback that publishes presence, merging bursts (a crowd joining at once)."""
    waiting: dict[str, Room] = {}

    def flush() -> None:
        rooms = list(waiting.values())
        waiting.clear()
        for room in rooms:
            bus.publish(presence_event(room, instance))

    def changed(room: Room) -> None:
        if not waiting:
            asyncio.get_running_loop().call_later(_INTERVAL, flush)
        waiting[room.note_id] = room

    return changed


async def repeat_presence(
    rooms: dict[str, Room], bus: EventBus, instance: str, every: float = 5.0
) -> None:
    """Re-announce the presence of every open room, so late pages and other processes agree."""
    while True:
        await asyncio.sleep(every)
        for room in list(rooms.values()):
            if room.peers:
                bus.publish(presence_event(room, instance))
