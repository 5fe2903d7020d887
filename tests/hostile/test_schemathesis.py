"""Schemathesis against ``/schema/openapi.json`` of a ``carnet serve`` process (issue 6).

Every operation of the published schema is called with generated requests by a
signed-in user (``Authorization: Bearer``): first with generated values
everywhere, then with the path parameters set to objects that exist (the
user's carnet, note, comment, revision, member, invitation, a spare token), so
that the handlers get past "not found". No answer may be a 5xx. The number of
examples per operation is bounded; the run is seeded from ``CARNET_SEED``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

import httpx
import hypothesis
import pycrdt
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from tests.faults.conftest import StartCarnet
from tests.faults.harness import (
    CarnetServer,
    Writer,
    bearer,
    doc_content,
    seed_from_env,
    stored_doc,
)
from tests.support import People

GENERATED = int(os.environ.get("CARNET_SCHEMATHESIS_EXAMPLES", "6"))
KNOWN = max(1, GENERATED // 2 + 1)
SLOW = {"POST /api/auth/signup", "POST /api/auth/login"}  # Argon2 on every call


async def known_objects(server: CarnetServer, people: People) -> tuple[dict[str, str], Any]:
    """Objects of every kind the API names in its paths, owned by (or shared with) Alice."""
    alice = await people.new("Alice")
    bob = await people.new("Bob")
    carnet_id, note_id = await people.note(alice)
    client = alice.client
    response = await client.post(
        f"/api/carnets/{carnet_id}/members", json={"email": bob.email, "role": "contributor"}
    )
    assert response.status_code == 201, response.text
    invitation = (await client.post(f"/api/carnets/{carnet_id}/invitations", json={})).json()
    spare = (await client.post("/api/auth/tokens", json={"label": "spare"})).json()
    comment = await client.post(f"/api/notes/{note_id}/comments", json={"body": "Bien vu."})
    assert comment.status_code == 201, comment.text
    writer = await Writer(server.note_url(note_id), headers=bearer(alice)).connect()
    await writer.synced.wait()
    text = writer.doc.get("text", type=pycrdt.Text)
    text += "Compte rendu"
    await writer.wait_saved()
    await writer.close()
    revision = await client.post(f"/api/notes/{note_id}/revisions", json={})
    assert revision.status_code in (200, 201), revision.text
    _, other_note = await people.note(alice)
    # A note only ever named as a link target: its body must come through untouched.
    other = await Writer(server.note_url(other_note), headers=bearer(alice)).connect()
    await other.synced.wait()
    other_text = other.doc.get("text", type=pycrdt.Text)
    other_text += "Autre note, intacte"
    await other.wait_saved()
    await other.close()
    ids = {
        "carnet_id": carnet_id,
        "note_id": note_id,
        "user_id": bob.id,
        "comment_id": comment.json()["id"],
        "revision_id": revision.json()["id"],
        "invitation_id": invitation["id"],
        "token_id": spare["id"],
        "token": invitation["token"],
        "target_id": other_note,
        "kind": "note",
        "language": "en",
    }
    return ids, alice


def run_operation(
    operation: Any, base_url: str, headers: dict[str, str], ids: dict[str, str], seed: int
) -> list[str]:
    """Call one operation with generated requests; describe each 5xx answer."""
    failures: list[str] = []
    session = requests.Session()
    label = operation.label
    names = {p.name for p in operation.iter_parameters() if p.location == "path"}
    fixed = {name: ids[name] for name in names if name in ids}
    count = GENERATED if label not in SLOW else 2
    strategies = [(operation.as_strategy(), count)]
    if fixed:
        strategies.append((operation.as_strategy(path_parameters=fixed), KNOWN))
    # Invalid requests too (wrong types, missing fields, out-of-range values): 4xx, never 5xx.
    strategies.append((operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), count))

    for strategy, examples in strategies:

        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @hypothesis.seed(seed)
        @given(case=strategy)
        def call(case: Any) -> None:
            response = case.call(
                base_url=base_url, session=session, headers=dict(headers), timeout=30
            )
            if response.status_code >= 500:
                failures.append(
                    f"{label} → {response.status_code}: {response.text[:300]}\n"
                    f"    {case.as_curl_command(headers=headers)}"
                )

        # Unsatisfiable: nothing of the operation can be made invalid (no parameters).
        with contextlib.suppress(hypothesis.errors.Unsatisfiable):
            call()
    session.close()
    return failures


async def nul_in_paths(
    server: CarnetServer, operations: list[Any], headers: dict[str, str], ids: dict[str, str]
) -> list[str]:
    """Each path parameter in turn set to text holding a NUL (PostgreSQL refuses those)."""
    failures = []
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
        for operation in operations:
            names = [p.name for p in operation.iter_parameters() if p.location == "path"]
            for name in names:
                values = {n: ids.get(n, "x") for n in names} | {name: "a%00b"}
                path = operation.path.format(**values)
                method = operation.method.upper()
                body = {} if method in ("POST", "PUT", "PATCH") else None
                response = await client.request(method, path, json=body)
                if response.status_code >= 500:
                    failures.append(f"{method} {path} → {response.status_code}")
    return failures


@pytest.mark.timeout(300)
async def test_no_5xx_on_any_operation(carnet: StartCarnet, database: str, people_of: Any) -> None:
    seed = seed_from_env()
    server = await carnet()
    ids, alice = await known_objects(server, people_of(server))
    schema = schemathesis.openapi.from_url(f"{server.base_url}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, [op.label for op in operations]
    # Deletions last, so that the others still find the known objects.
    operations.sort(key=lambda op: (op.method.upper() == "DELETE", op.label))
    headers = bearer(alice)

    def run_all() -> list[str]:
        failures = []
        for operation in operations:
            failures += run_operation(operation, server.base_url, headers, ids, seed)
        return failures

    failures = await asyncio.to_thread(run_all)
    failures += await nul_in_paths(server, operations, headers, ids)
    print(f"{len(operations)} operations, up to {GENERATED}+{KNOWN}+{GENERATED} examples each")
    assert not failures, "\n".join(failures)
    errors = [line for line in server.log(tail=10_000_000).splitlines() if '"error"' in line]
    assert not errors, "\n".join(errors[:10])
    # The untouched note: exactly its text, for a fresh client and in the database.
    fresh = await Writer(server.note_url(ids["target_id"]), headers=bearer(alice)).connect()
    try:
        await asyncio.wait_for(fresh.synced.wait(), 10)
        assert fresh.content(["text"]) == {"text": "Autre note, intacte"}
    finally:
        await fresh.close()
    stored = await stored_doc(database, ids["target_id"])
    assert doc_content(stored, ["text"]) == {"text": "Autre note, intacte"}
