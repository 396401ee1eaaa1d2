"""Shared fixtures: real services, an isolated Hedgeflow home, no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests import services

# flowkit's fixtures (the session's one Prefect test server, cold caches) are defined here once: a
# session-scoped fixture imported into each module would be one fixture, and one server, per module
pytest_plugins = ["tests.flowkit"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory, so no run touches the user's."""
    home = tmp_path_factory.mktemp("hedgeflow-home")
    monkeypatch.setenv("HEDGEFLOW_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _ephemeral_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI runs in tests use Prefect's ephemeral mode; the server tests opt back in."""
    monkeypatch.setenv("HEDGEFLOW_SERVER", "ephemeral")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # CLI subprocesses start a temporary server each: on a busy 2-core machine 20 s is too little
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only loopback connections: tests never reach a real provider."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        if isinstance(address, tuple) and address and str(address[0]) not in {"127.0.0.1", "localhost", "::1"}:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = services.ensure_postgres()
    if problem:
        pytest.fail(problem)
    return services.POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    problem = services.ensure_redis()
    if problem:
        pytest.fail(problem)
    return services.REDIS_URL
