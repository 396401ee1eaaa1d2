"""The persist task and the database block under a real (test) Prefect server."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from prefect.settings import get_current_settings
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from blocks.database import HedgeflowDatabase
from hedgeflow.history import load_history
from hedgeflow.store import DATABASE_URL_ENV, get_engine
from tasks.persist import PersistError, persist_run_task
from tests.test_store import make_result

pytestmark = [
    pytest.mark.slow,
    # The tasks run standalone, outside a flow run, so their logs have no flow run to attach to.
    pytest.mark.filterwarnings("ignore:Logger 'prefect.task_runs' attempted to send logs:UserWarning"),
]
PASSWORD = "s3cret-pw"


@pytest.fixture(autouse=True)
def _on_the_test_server(prefect_server: None) -> None:
    """Every test here talks to the session's Prefect test server (tests/flowkit.py)."""


class FlakyProxy:
    """A TCP proxy to PostgreSQL that drops its first ``drop`` connections: a database that is briefly away."""

    def __init__(self, target: tuple[str, int], drop: int) -> None:
        self.target, self.drop, self.accepted = target, drop, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            if self.accepted <= self.drop:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def wait_for(self, connections: int, seconds: float = 5.0) -> int:
        """The connections accepted once ``connections`` arrived (or time ran out): one per attempt."""
        deadline = time.monotonic() + seconds
        while self.accepted < connections and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # room for an unexpected extra attempt to show up
        return self.accepted

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def pg_schema(postgres_url: str) -> Iterator[str]:
    """A schema of its own on the real server, dropped afterwards."""
    schema = f"hf_task_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def proxied_url(server_url: str, proxy: FlakyProxy, schema: str) -> str:
    """The server's URL through ``proxy``: with a password (trust auth never asks for it), one connection per try."""
    url = make_url(server_url).set(password=PASSWORD, port=proxy.port).update_query_dict(
        {"options": f"-csearch_path={schema}", "sslmode": "disable", "gssencmode": "disable"}
    )
    return url.render_as_string(hide_password=False)


class TestHedgeflowDatabaseBlock(BlockStandardTestSuite):
    @pytest.fixture
    def block(self) -> type[HedgeflowDatabase]:
        return HedgeflowDatabase

    def test_has_a_valid_image(self, block: type[HedgeflowDatabase]) -> None:  # type: ignore[override]
        assert block._logo_url is None  # no logo shipped, and tests never fetch one


def test_block_keeps_the_url_secret_and_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://hedge:{PASSWORD}@db:5432/hedgeflow"
    HedgeflowDatabase(url=url).save("results-db", overwrite=True)
    loaded = HedgeflowDatabase.load("results-db")
    assert loaded.get_url() == url
    assert PASSWORD not in repr(loaded) and PASSWORD not in loaded.display_url()
    monkeypatch.setenv(DATABASE_URL_ENV, f"sqlite:///{tmp_path}/env.db")
    assert HedgeflowDatabase().get_url() == f"sqlite:///{tmp_path}/env.db"
    with pytest.raises(ValueError, match="not a SQLAlchemy URL"):
        HedgeflowDatabase(url="not a url")


def test_task_options() -> None:
    assert persist_run_task.retries == 3
    assert persist_run_task.retry_delay_seconds == [1, 2, 4]
    assert persist_run_task.persist_result is True


def test_task_writes_the_run_to_sqlite(tmp_path: Path) -> None:
    database = HedgeflowDatabase(url=f"sqlite:///{tmp_path}/task.db")
    state = persist_run_task(make_result(), database, return_state=True)
    assert state.is_completed() and state.result() is True
    assert persist_run_task(make_result(), database) is False  # same run id: replaced, not duplicated
    [record] = load_history(get_engine(database.get_url()))
    assert record.run_id == "run-1" and len(record.orders) == 2


@pytest.mark.postgres
def test_task_retries_until_postgres_answers(postgres_url: str, pg_schema: str) -> None:
    server = make_url(postgres_url)
    proxy = FlakyProxy((server.host or "127.0.0.1", server.port or 5432), drop=1)
    try:
        database = HedgeflowDatabase(url=proxied_url(postgres_url, proxy, pg_schema))
        state = persist_run_task(make_result("pg-run"), database, return_state=True)
        assert state.is_completed() and state.result() is True
        assert proxy.wait_for(2) == 2  # attempt one met the dropped connection; the retry wrote the run
        assert [r.run_id for r in load_history(get_engine(database.get_url()))] == ["pg-run"]
    finally:
        proxy.close()


@pytest.mark.postgres
def test_task_gives_up_with_a_clear_error_and_no_password(postgres_url: str, pg_schema: str) -> None:
    server = make_url(postgres_url)
    proxy = FlakyProxy((server.host or "127.0.0.1", server.port or 5432), drop=10**6)  # a database that stays down
    storage = Path(get_current_settings().results.local_storage_path)
    before = set(storage.glob("*"))  # the session's server is shared: other tests' results are there too
    try:
        quick = persist_run_task.with_options(retry_delay_seconds=0)  # the same three retries, without the waits
        state = quick(make_result("lost-run"), HedgeflowDatabase(url=proxied_url(postgres_url, proxy, pg_schema)),
                      return_state=True)
        assert state.is_failed()
        assert proxy.wait_for(4) == 4  # the first attempt and three retries
    finally:
        proxy.close()
    with pytest.raises(PersistError) as raised:
        state.result()
    message = str(raised.value)
    masked = f"postgresql+psycopg://postgres:***@127.0.0.1:{proxy.port}/test"
    assert message.startswith(f"could not persist run lost-run to {masked}")
    assert "OperationalError" in message
    assert PASSWORD not in message and PASSWORD not in (state.message or "")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__  # no driver traceback with the URL
    stored = set(storage.glob("*")) - before
    assert stored  # the failed state's exception is a persisted result too
    assert not any(PASSWORD.encode() in base64.b64decode(json.loads(f.read_text())["result"]) for f in stored)


def test_an_unreachable_database_is_reported_without_its_password() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: connection refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://hedge:{PASSWORD}@127.0.0.1:{port}/hedgeflow"
    with pytest.raises(PersistError) as raised:
        persist_run_task.fn(make_result("lost-run"), HedgeflowDatabase(url=url))
    assert f"postgresql+psycopg://hedge:***@127.0.0.1:{port}/hedgeflow" in str(raised.value)
    assert PASSWORD not in str(raised.value)
