"""Live co-writing: the y-websocket protocol, rooms, persistence and fan-out."""
