"""End to end: a real Prefect server, `make deploy`, `hedgeflow worker`, and a run triggered from the CLI.

Everything lives under ``tmp_path`` (Prefect's home and SQLite database,
Hedgeflow's home and SQLite results database) and talks over loopback. Every
child process starts in its own session; teardown stops the worker before the
server (SIGTERM, then SIGKILL of its process group and of every descendant seen,
flow-run processes of a process worker included) and then checks that none of
those pids is alive.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = Path(sys.prefix)
POOL = "hedgeflow"
DEPLOYMENT = "hedge-fund/analyze"
TICKERS = ["AAPL", "NVDA"]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # minutes of server start-up on a loaded machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, read from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper has ended and counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


class Children:
    """Child processes in their own sessions, logged to files, stopped in reverse start order."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, env
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.seen: set[int] = set()

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started.append((name, process))
        return process

    def run(self, name: str, *argv: str, timeout: float, check: bool = True) -> str:
        """Run to completion; its output, or (with ``check``) a failure that shows it."""
        out = subprocess.run(
            argv, check=False, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout,
            start_new_session=True,
        )
        (self.logs / f"{name}.log").write_text(out.stdout + out.stderr)
        if check:
            assert out.returncode == 0, f"{name} exited {out.returncode}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
        return out.stdout + out.stderr

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def note_descendants(self) -> None:
        for _, process in self.started:
            self.seen |= _descendants(process.pid)

    def stop(self, process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL to the process group and to every descendant seen (flow runs have their own)."""
        self.seen |= _descendants(process.pid)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(grace_s)
        self.seen |= _descendants(process.pid)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in self.seen:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self) -> list[int]:
        """Stop everything (the worker before the server); the pids still alive afterwards."""
        self.note_descendants()
        for _, process in reversed(self.started):
            self.stop(process)
        pids = self.seen | {p.pid for _, p in self.started}
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        return sorted(pid for pid in pids if _alive(pid))


def _wait_healthy(url: str, server: subprocess.Popen[bytes], children: Children, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert server.poll() is None, f"prefect server exited {server.returncode}:\n{children.tail('server')}"
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=10) as response:
            if response.status == 200:
                return
        time.sleep(0.25)
    pytest.fail(f"prefect server not healthy after {timeout_s:.0f} s:\n{children.tail('server')}")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Children, str]]:
    """A Prefect server on a free port with its home in tmp_path; yields the children and the API URL."""
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    hedgeflow_home = Path(os.environ["HEDGEFLOW_HOME"])  # the autouse fixture's, so this process reads the same db
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_API_URL=api_url,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
        # Only the on-demand run under test: no scheduled precompute run may start meanwhile.
        PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        PREFECT_WORKER_QUERY_SECONDS="1",
        HEDGEFLOW_HOME=str(hedgeflow_home),
    )
    for key in [k for k in os.environ if k.startswith("PREFECT_") or k == "HEDGEFLOW_DATABASE_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PREFECT_API_URL", api_url)
    logs = tmp_path / "logs"
    logs.mkdir()
    children = Children(logs, env)
    try:
        server = children.start("server", str(VENV / "bin" / "prefect"), "server", "start", "--host", "127.0.0.1",
                                "--port", str(port))
        _wait_healthy(api_url, server, children, timeout_s=180)  # migrations take minutes on a loaded 2-CPU machine
        yield children, api_url
    finally:
        left = children.stop_all()
        assert not left, f"processes left running: {left}"


def _deploy_command() -> list[str]:
    """`make deploy`, told the venv is installed already (so it never reinstalls during a test)."""
    make = shutil.which("make")
    if make is None:
        return [sys.executable, "-m", "deployments.deploy"]  # the one command `make deploy` runs
    marker = VENV / "bin" / "hedgeflow"
    return [make, "--no-print-directory", f"VENV={VENV}", "-o", str(marker), "deploy"]


def _run_id(output: str) -> UUID:
    found = re.search(r"UUID:\s*([0-9a-f-]{36})", output)
    assert found, f"no flow run id in:\n{output}"
    return UUID(found.group(1))


def test_deploy_worker_run_artifacts_and_rows(stack: tuple[Children, str]) -> None:
    children, api_url = stack
    began = time.monotonic()
    children.run("deploy", *_deploy_command(), timeout=240)  # five deployments, alerts and limits on a shared 2-CPU machine

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    # Prefect may have read its settings before this test: point this process's client at the test server.
    def api() -> contextlib.AbstractContextManager[object]:
        return temporary_settings(updates={PREFECT_API_URL: api_url})

    with api(), get_client(sync_client=True) as client:
        assert client.read_work_pool(POOL).type == "hedgeflow"  # `hedgeflow worker`: runs in its own process
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        assert deployment.work_pool_name == POOL
        properties = (deployment.parameter_openapi_schema or {})["properties"]
        assert {"tickers", "start", "end", "analysts", "model", "portfolio"} <= set(properties)
        assert all(p.get("description") for p in properties.values()), "every parameter has a description in the UI"
        if (ROOT / "flows" / "precompute.py").exists():
            scheduled = client.read_deployment_by_name("precompute/popular-tickers")
            crons = sorted((s.schedule.cron, s.schedule.timezone) for s in scheduled.schedules)  # type: ignore[union-attr]
            assert crons == [("0 10-16 * * 1-5", "America/New_York"), ("30 8 * * 1-5", "America/New_York")]

    worker = children.start("worker", str(VENV / "bin" / "hedgeflow"), "worker", "--pool", POOL)
    triggered = time.monotonic()
    output = children.run(
        "trigger", str(VENV / "bin" / "prefect"), "deployment", "run", DEPLOYMENT,
        "-p", f"tickers={json.dumps(TICKERS)}", "--watch", "--watch-interval", "1", "--watch-timeout", "60",
        timeout=90, check=False,
    )
    completed_after_s = time.monotonic() - triggered
    run_id = _run_id(output)
    children.note_descendants()
    assert worker.poll() is None, f"the worker died:\n{children.tail('worker')}"

    with api(), get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state is not None and run.state.is_completed(), (
            f"flow run ended {run.state}:\n{output[-2000:]}\n{children.tail('worker')}"
        )
        assert run.deployment_id == deployment.id
        assert run.infrastructure_pid == str(worker.pid)  # executed inside the worker, no process of its own
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    assert {"signals", "orders"} <= {a.key for a in artifacts}, [a.key for a in artifacts]
    print(f"deploy+run {time.monotonic() - began:.1f} s; trigger to Completed {completed_after_s:.1f} s")

    from hedgeflow import store

    load_history = getattr(store, "load_history", None)
    with contextlib.suppress(ImportError):
        from hedgeflow.history import load_history
    if load_history is None:
        pytest.skip("neither hedgeflow.history nor hedgeflow.store has load_history: persisted rows not checked")
    database_url, get_engine = store.database_url, store.get_engine

    records = {r.run_id: r for r in load_history(get_engine(database_url()), limit=50)}
    assert str(run_id) in records, f"run {run_id} not persisted in {database_url()}; stored: {list(records)}"
    record = records[str(run_id)]
    assert {s.ticker for s in record.signals} == set(TICKERS)
    assert record.tickers == TICKERS
