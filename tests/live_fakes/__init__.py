"""Fake live-data servers (SEC EDGAR, the v8 chart endpoint, the RSS headline feed) and their fixtures.

``from tests.live_fakes import live_fake`` in a test module gives a running
server (one per module, counters and faults reset for each test) and points
every HEDGEFLOW_* live setting at it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes import FakeServer, start

__all__ = ["USER_AGENT", "live_fake", "live_fake_server", "point_at"]

USER_AGENT = "Hedgeflow Tests tests@example.com"


def point_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name in ("HEDGEFLOW_SEC_DATA_URL", "HEDGEFLOW_SEC_WWW_URL", "HEDGEFLOW_PRICES_URL", "HEDGEFLOW_NEWS_URL"):
        monkeypatch.setenv(name, url)
    monkeypatch.setenv("HEDGEFLOW_SEC_USER_AGENT", USER_AGENT)


@pytest.fixture(scope="module")
def live_fake_server() -> Iterator[FakeServer]:
    from tests.live_fakes.server import create_app

    server = start(create_app())
    yield server
    server.stop()


@pytest.fixture
def live_fake(live_fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    live_fake_server.reset()
    point_at(monkeypatch, live_fake_server.url)
    return live_fake_server
