"""Fixtures of the hostile-input suite: the fault suite's real processes.

PostgreSQL (one server for the session, a fresh database per test), Redis and
``carnet serve`` child processes, all started by the tests on spare ports; see
``tests/faults/conftest.py`` and ``tests/faults/harness.py``.
"""

from __future__ import annotations

from tests.faults.conftest import carnet, database, people_of, postgres, redis

__all__ = ["carnet", "database", "people_of", "postgres", "redis"]
