"""End to end: `hedgeflow worker` on a real Prefect server runs deployment runs inside its own process.

Each test starts ``prefect server start`` (SQLite, or a throw-away PostgreSQL
database) and one or two ``hedgeflow worker`` processes, creates deployments
through the API (the ``hedgeflow`` pool as ``make deploy`` creates it), and
triggers runs as the UI does (``create_flow_run_from_deployment``). The flows
in tests/test_worker_flows.py write which process and thread executed them, so
"in-process" and "exactly once" are read from what really ran, not from the
worker's own account. Teardown stops the workers before the server and checks
no process is left (tests/e2e.py).
"""

from __future__ import annotations

import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from tests.e2e import Stack, api, prefect_stack, throwaway_postgres, wait_for
from tests.test_deploy_e2e import ROOT, VENV

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # server start-up alone took minutes on this loaded machine

POOL = "hedgeflow"
FLOWS = "tests/test_worker_flows.py"


def start_worker(stack: Stack, name: str, *extra: str) -> subprocess.Popen[bytes]:
    return stack.children.start(f"worker-{name}", str(VENV / "bin" / "hedgeflow"), "worker", "--pool", POOL,
                                "--name", name, "--poll-seconds", "1", *extra)


def deployment(client: Any, entrypoint: str, name: str, job_variables: dict[str, Any] | None = None) -> UUID:
    """A deployment of ``entrypoint`` on the hedgeflow pool, as ``prefect deploy`` records it from this checkout."""
    from prefect.flows import load_flow_from_entrypoint

    flow_id = client.create_flow_from_name(load_flow_from_entrypoint(str(ROOT / entrypoint)).name)
    return UUID(str(client.create_deployment(
        flow_id=flow_id, name=name, entrypoint=entrypoint, work_pool_name=POOL, path=str(ROOT),
        pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
        job_variables=job_variables or {},
    )))


def trigger(client: Any, deployment_id: UUID, **parameters: Any) -> UUID:
    return UUID(str(client.create_flow_run_from_deployment(deployment_id, parameters=parameters).id))


def final(client: Any, stack: Stack, run_ids: list[UUID], timeout_s: float = 120) -> dict[UUID, Any]:
    """Every run once it is in a final state."""

    def finished() -> dict[UUID, Any] | None:
        runs = {run_id: client.read_flow_run(run_id) for run_id in run_ids}
        return runs if all(r.state is not None and r.state.is_final() for r in runs.values()) else None

    def explain() -> str:
        states = [(r.name, r.state_name, r.state and r.state.message) for r in map(client.read_flow_run, run_ids)]
        return f"{states}\n" + "\n".join(stack.children.tail(n) for n, _ in stack.children.started if "worker" in n)

    found: dict[UUID, Any] = wait_for(f"{len(run_ids)} runs in a final state", finished, timeout_s, every_s=0.5,
                                      explain=explain)
    return found


def executions(path: Path) -> list[list[str]]:
    """The ``record`` flow's start lines: run id, pid, thread name."""
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.split() for line in lines if not line.endswith(" finished")]


def create_pool(api_url: str) -> None:
    from deployments.deploy import ensure_work_pool

    with api(api_url):
        ensure_work_pool(POOL)


@pytest.mark.postgres
def test_two_workers_on_one_pool_execute_each_run_exactly_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.client.orchestration import get_client

    runs_wanted = 10
    log = tmp_path / "ran.txt"
    with throwaway_postgres() as name, prefect_stack(
        tmp_path, monkeypatch, PREFECT_SERVER_DATABASE_CONNECTION_URL=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    ) as stack:
        create_pool(stack.api_url)
        with api(stack.api_url), get_client(sync_client=True) as client:
            recorder = deployment(client, f"{FLOWS}:record", "record")
            # Created before the workers start, so both find all of them due on their first poll and race for each.
            runs = [trigger(client, recorder, path=str(log), pause_s=0.5) for _ in range(runs_wanted)]
            workers = [start_worker(stack, "a"), start_worker(stack, "b")]
            done = final(client, stack, runs, timeout_s=180)
            histories = {r: [s.name for s in client.read_flow_run_states(r)] for r in runs}
        assert all(r.state.is_completed() for r in done.values()), [(r.name, r.state.name) for r in done.values()]
        assert all(w.poll() is None for w in workers)
    ran = executions(log)
    assert Counter(UUID(line[0]) for line in ran) == Counter(runs)  # each run executed once, none twice
    assert {int(line[1]) for line in ran} <= {w.pid for w in workers}
    for run_id, states in histories.items():
        # one claim (Pending) and one execution (Running); Late and Submitting may come between
        assert states.count("Running") == 1 and states.count("Pending") == 1, (run_id, states)


def test_runs_complete_inside_the_worker_and_a_failing_or_crashing_one_ends_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker, one SQLite-backed server: an analyze run and a recording run complete in the worker's own
    process and threads; then failing, crashing and refused runs end alone, the next run completes, and a
    cancelled run stops."""
    from prefect.client.orchestration import get_client
    from prefect.states import Cancelling

    log = tmp_path / "ran.txt"
    with prefect_stack(tmp_path, monkeypatch) as stack:
        create_pool(stack.api_url)
        worker = start_worker(stack, "solo")
        with api(stack.api_url), get_client(sync_client=True) as client:
            analyze = deployment(client, "flows/hedge_fund.py:hedge_fund", "analyze")
            recorder = deployment(client, f"{FLOWS}:record", "record")
            first = [trigger(client, analyze, tickers=["AAPL", "NVDA"]),
                     trigger(client, recorder, path=str(tmp_path / "first.txt"))]
            first_done = final(client, stack, first, timeout_s=180)
            assert [r.state.name for r in first_done.values()] == ["Completed", "Completed"], [
                (r.state.name, r.state.message) for r in first_done.values()]
            # In-process: the run's infrastructure is the worker itself, and the flow ran on the run's own thread.
            assert {r.infrastructure_pid for r in first_done.values()} == {str(worker.pid)}
            assert all(r.labels.get("prefect.worker.type") == "hedgeflow" for r in first_done.values())
            [[run_id, pid, thread]] = executions(tmp_path / "first.txt")
            assert (UUID(run_id), int(pid), thread) == (first[1], worker.pid, f"hedgeflow-run-{first[1]}")

            failing = deployment(client, f"{FLOWS}:fail", "fail")
            crashing = deployment(client, f"{FLOWS}:crash", "crash")
            own_env = deployment(client, f"{FLOWS}:record", "own-env", job_variables={"env": {"LEAK": "1"}})
            bad = [trigger(client, failing), trigger(client, crashing), trigger(client, own_env, path=str(log))]
            ended = final(client, stack, bad)
            after = [trigger(client, recorder, path=str(log))]
            after_done = final(client, stack, after)

            long_run = trigger(client, recorder, path=str(log), pause_s=60)
            wait_for("the long run started", lambda: executions(log)[1:], timeout_s=60)
            client.set_flow_run_state(long_run, Cancelling(), force=True)
            # Prefect's engine reports its cancelled task as Crashed; the worker's Cancelled is the last word.
            cancelled = wait_for("the long run Cancelled", lambda: (r := client.read_flow_run(long_run)).state_name
                                 == "Cancelled" and r, timeout_s=60, every_s=0.5)
        states = [ended[r].state for r in bad]
        assert [s.name for s in states] == ["Failed", "Crashed", "Crashed"], [(s.name, s.message) for s in states]
        assert "fails on purpose" in str(states[0].message), states[0].message
        assert "exit" in str(states[1].message), states[1].message  # Prefect's: "aborted by Python system exit call"
        assert "env" in str(states[2].message) and "hedgeflow-process" in str(states[2].message), states[2].message
        assert after_done[after[0]].state.is_completed()
        assert cancelled.state.name == "Cancelled", (cancelled.state.name, cancelled.state.message)
        assert f"{long_run} finished" not in log.read_text()  # stopped, not waited for
        assert worker.poll() is None, stack.children.tail("worker-solo")
    assert [UUID(line[0]) for line in executions(log)] == [after[0], long_run]  # the env run never started


def test_the_worker_command_refuses_bad_options_in_one_line() -> None:
    done = subprocess.run([str(VENV / "bin" / "hedgeflow"), "worker", "--limit", "0"], check=False, capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--limit" in done.stderr, done.stderr
