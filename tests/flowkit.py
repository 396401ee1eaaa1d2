"""Helpers for tests that run flows: one Prefect test server per session, cold caches per test."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def cold_cache(prefect_server: None) -> Iterator[None]:
    """Empty the in-process tier; the storage tier lives in this test's HEDGEFLOW_HOME."""
    from blocks.cache import MEMORY

    MEMORY.clear()
    yield
    MEMORY.clear()


def run_flow(flow: Any, **parameters: Any) -> Any:
    return asyncio.run(flow(**parameters))
