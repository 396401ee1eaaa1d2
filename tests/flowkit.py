"""Helpers for tests that run flows: one Prefect test server per session, cold caches per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Prefect's test server, one for the whole session (tests/conftest.py registers this module as a plugin).

    Its home and persisted results live in a temporary directory, not ~/.prefect; the long start-up timeout
    is for a busy machine.
    """
    from prefect.settings import PREFECT_HOME, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    prefect_home = tmp_path_factory.mktemp("prefect-home")
    isolated = {PREFECT_HOME: str(prefect_home), PREFECT_LOCAL_STORAGE_PATH: str(prefect_home / "storage")}
    with temporary_settings(updates=isolated), prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture
def cold_cache(prefect_server: None) -> Iterator[None]:
    """Empty the in-process tier; the storage tier lives in this test's HEDGEFLOW_HOME."""
    from blocks.cache import MEMORY

    MEMORY.clear()
    yield
    MEMORY.clear()


def on_session_server() -> dict[str, str]:
    """Environment for a ``hedgeflow`` subprocess to run on the session's server (needs ``prefect_server``)
    instead of starting a Prefect server of its own: ``HEDGEFLOW_SERVER=off`` keeps this ``PREFECT_API_URL``."""
    from prefect.settings import PREFECT_API_URL

    return {"HEDGEFLOW_SERVER": "off", "PREFECT_API_URL": str(PREFECT_API_URL.value())}


def run_flow(flow: Any, **parameters: Any) -> Any:
    return asyncio.run(flow(**parameters))
