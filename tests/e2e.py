"""A real Prefect server (SQLite or a throw-away PostgreSQL database), `make deploy` and `hedgeflow worker`.

Shared by the end-to-end tests that need the scheduler or a browser; the
process handling (sessions, teardown, leftover check) is tests/test_deploy_e2e.py's.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import services
from tests.test_deploy_e2e import VENV, Children, _deploy_command, _free_port, _wait_healthy

__all__ = ["POOL", "Stack", "api", "prefect_stack", "throwaway_postgres", "wait_for"]

POOL = "hedgeflow"


class Stack:
    """The running children and the server's API URL."""

    def __init__(self, children: Children, api_url: str) -> None:
        self.children, self.api_url = children, api_url

    @property
    def ui_url(self) -> str:
        return self.api_url.removesuffix("/api")

    def deploy(self, prefect_file: Path | None = None) -> str:
        argv = _deploy_command()
        if prefect_file is not None:  # the one command `make deploy` runs, with another declarations file
            argv = [str(VENV / "bin" / "python"), "-m", "deployments.deploy", "--prefect-file", str(prefect_file)]
        return self.children.run("deploy", *argv, timeout=120)

    def start_worker(self) -> None:
        self.children.start("worker", str(VENV / "bin" / "hedgeflow"), "worker", "--pool", POOL)


def api(api_url: str) -> contextlib.AbstractContextManager[object]:
    """Point this process's Prefect client at the test server (Prefect may have read its settings already)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    return temporary_settings(updates={PREFECT_API_URL: api_url})


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A fresh database ``hedgeflow_e2e_<random>`` on the shared server; dropped afterwards. Yields its name."""
    import psycopg

    problem = services.ensure_postgres()
    if problem:
        pytest.fail(problem)
    name = f"hedgeflow_e2e_{secrets.token_hex(4)}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def prefect_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **server_env: str) -> Iterator[Stack]:
    """A ``prefect server start`` on a free port, its home in ``tmp_path``; ``server_env`` adds settings."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    hedgeflow_home = Path(os.environ["HEDGEFLOW_HOME"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        PREFECT_WORKER_QUERY_SECONDS="1",
        HEDGEFLOW_HOME=str(hedgeflow_home),
        **server_env,
    )
    for key in [k for k in os.environ if k.startswith("PREFECT_") or k == "HEDGEFLOW_DATABASE_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PREFECT_API_URL", api_url)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    children = Children(logs, env)
    try:
        server = children.start("server", str(VENV / "bin" / "prefect"), "server", "start", "--host", "127.0.0.1",
                                "--port", str(port))
        _wait_healthy(api_url, server, children, timeout_s=300)
        yield Stack(children, api_url)
    finally:
        left = children.stop_all()
        assert not left, f"processes left running: {left}"


def wait_for(what: str, probe: Callable[[], Any], timeout_s: float, every_s: float = 1.0,
             explain: Callable[[], str] = lambda: "") -> Any:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not seen within {timeout_s:.0f} s\n{explain()}")
        time.sleep(every_s)
