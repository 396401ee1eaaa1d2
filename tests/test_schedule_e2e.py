"""End to end: a schedule on a real Prefect server creates a run, `hedgeflow worker` picks it up, it completes.

The scheduler loop is shortened through Prefect's own setting
(``PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS``), and the precompute
deployment is declared with a schedule that fires every few seconds instead of
prefect.yaml's market-hours crons, with the server on SQLite (the default);
tests/test_ui_e2e.py checks a scheduled run the same way on a PostgreSQL-backed
server. With SQLAlchemy 2.1 beside Prefect 3.8.8 the scheduler logs "Can't
evaluate bulk DML statement" and never creates a run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from deployments.deploy import PREFECT_FILE
from tests.e2e import Stack, api, prefect_stack, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # minutes of server start-up on a loaded machine

DEPLOYMENT = "precompute/popular-tickers"
EVERY_S = 10
SCHEDULER = {
    "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
    "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_RUNS": "3",  # a few runs ahead, not a hundred
}


def fast_schedule_file(tmp_path: Path, tickers: list[str]) -> Path:
    """prefect.yaml's precompute deployment alone, with an interval schedule of ``EVERY_S`` seconds."""
    config = yaml.safe_load(PREFECT_FILE.read_text())
    precompute = next(d for d in config["deployments"] if d["entrypoint"].startswith("flows/precompute.py"))
    precompute["schedules"] = [{"interval": EVERY_S, "slug": "e2e-every-few-seconds", "active": True}]
    precompute["parameters"] = {"tickers": tickers}
    config["deployments"] = [precompute]
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def scheduled_run_completes(stack: Stack, tmp_path: Path) -> Any:
    """Deploy, start a worker, and return the first scheduler-made run that completed."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    stack.deploy(fast_schedule_file(tmp_path, ["AAPL"]))
    with api(stack.api_url), get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(DEPLOYMENT)
        by_deployment = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))

        def runs() -> list[Any]:
            return [r for r in client.read_flow_runs(deployment_filter=by_deployment) if r.auto_scheduled]

        def explain() -> str:
            states = [(r.name, r.state_name, r.state and r.state.message) for r in runs()]
            return f"runs: {states}\n{stack.children.tail('server')}\n{stack.children.tail('worker')}"

        wait_for("a run created by the scheduler", runs, timeout_s=60, explain=explain)
        stack.start_worker()
        finished = wait_for(
            "a scheduled run in a final state",
            lambda: [r for r in runs() if r.state is not None and r.state.is_final()],
            timeout_s=150, explain=explain,
        )
    run = finished[0]
    assert run.state.is_completed(), f"{run.name} ended {run.state.name}: {run.state.message}\n{explain()}"
    assert run.name.startswith("warm AAPL"), run.name
    assert run.labels.get("prefect.worker.type") == "hedgeflow", run.labels  # executed inside Hedgeflow's worker
    assert "bulk DML" not in stack.children.tail("server", 200_000)
    return run


def test_schedule_fires_on_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with prefect_stack(tmp_path, monkeypatch, **SCHEDULER) as stack:
        scheduled_run_completes(stack, tmp_path)
