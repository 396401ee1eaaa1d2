"""Fake servers for tests: started in a thread on a free loopback port.

Import the fixtures into a test module (``from tests.fakes import fake_model``)
to use them. Each server lives for the module; every test starts from reset
counters and a clean mode.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bench import serve_in_thread

__all__ = ["FakeServer", "fake_data", "fake_data_server", "fake_model", "fake_model_server", "start"]

FAKE_KEY = "sk-test-hedgeflow-SECRET-0123456789"


@dataclass
class FakeServer:
    """A running fake: its base URL and its /admin routes."""

    url: str
    stop: Any

    def counters(self) -> dict[str, Any]:
        return httpx.get(f"{self.url}/admin/counters", timeout=5).raise_for_status().json()  # type: ignore[no-any-return]

    def mode(self, **body: Any) -> dict[str, Any]:
        return httpx.post(f"{self.url}/admin/mode", json=body, timeout=5).raise_for_status().json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        httpx.post(f"{self.url}/admin/reset", timeout=5).raise_for_status()


def start(app: Any) -> FakeServer:
    url, stop = serve_in_thread(app)
    return FakeServer(url=url, stop=stop)


@pytest.fixture(scope="module")
def fake_model_server() -> Iterator[FakeServer]:
    from bench.fake_model import create_app

    server = start(create_app(hang_s=3.0, retry_after_s=2.0))
    yield server
    server.stop()


@pytest.fixture
def fake_model(fake_model_server: FakeServer) -> FakeServer:
    fake_model_server.reset()
    return fake_model_server


@pytest.fixture(scope="module")
def fake_data_server() -> Iterator[FakeServer]:
    from bench.fake_data import create_app

    server = start(create_app(api_key=FAKE_KEY, retry_after_s=2.0))
    yield server
    server.stop()


@pytest.fixture
def fake_data(fake_data_server: FakeServer) -> FakeServer:
    fake_data_server.reset()
    return fake_data_server
