"""Fixtures of the live-socket tests."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from tests.sync.helpers import ServerProcess

SLOW_ENV = "CARNET_SLOW_TESTS"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"slow: long replays, run only with -m slow or {SLOW_ENV}=1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests (the whole seph-blog1 trace: ~45 s alone, more on a busy machine) run
    when asked for, so that ``make test`` stays quick."""
    if os.environ.get(SLOW_ENV) == "1" or "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason=f"long replay: run with -m slow or {SLOW_ENV}=1")
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
async def carnet_process(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServerProcess]:
    """``carnet serve`` as a child process on the test database, shared by the tests
    that kill it; :func:`server_process` hands it over running."""
    process = ServerProcess(database_url, tmp_path_factory.mktemp("carnet-serve") / "server.log")
    yield process
    process.kill()


@pytest.fixture
async def server_process(carnet_process: ServerProcess) -> ServerProcess:
    """The child-process server, started (again) if a previous test left it dead."""
    if not carnet_process.running:
        await carnet_process.start()
    return carnet_process
