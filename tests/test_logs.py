from __future__ import annotations

import json
import logging

from carnet.logs import JsonFormatter, ScrubSecrets, note_id, request_id, scrub


def test_secrets_are_scrubbed_from_messages_and_arguments() -> None:
    assert scrub("GET /invitations/ci_abcdefghijklmnop/accept") == (
        "GET /invitations/ci_[redacted]/accept"
    )
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        "%s %s",
        ("Bearer ct_0123456789abcdef", 200),
        None,
    )
    assert ScrubSecrets().filter(record)
    assert record.getMessage() == "Bearer ct_[redacted] 200"


def test_json_lines_carry_request_and_note_ids() -> None:
    record = logging.LogRecord("carnet", logging.WARNING, __file__, 1, "saving delayed", (), None)
    token_r, token_n = request_id.set("req-1"), note_id.set("note-1")
    try:
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id.reset(token_r)
        note_id.reset(token_n)
    assert line["message"] == "saving delayed"
    assert (line["level"], line["request_id"], line["note_id"]) == ("warning", "req-1", "note-1")
