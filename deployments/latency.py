"""Measure trigger-to-Completed latency of a deployment against ``PREFECT_API_URL``.

``python -m deployments.latency --runs 5`` triggers ``hedge-fund/analyze`` the
way a user does (``prefect deployment run ... -p tickers='["AAPL","NVDA"]'``,
a fresh CLI process each time), waits for each run to finish one after the
other, and prints where the time went, read from the run's state history:

- cli: from starting the CLI to the flow run existing (CLI start-up, API call);
- queue: Scheduled until a worker submits it (the worker's polling interval);
- start: Pending until Running (the worker starts the run's process, which
  imports Prefect and the flow, then runs the pull steps);
- run: Running until Completed (the flow itself);
- total: from starting the CLI until the API reports Completed.

A worker must be polling the deployment's pool. Used for docs/deployment.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, State

__all__ = ["Sample", "measure_once", "trigger"]

_RUN_ID = re.compile(r"UUID:\s*([0-9a-f-]{36})")


@dataclass(frozen=True)
class Sample:
    cli_s: float
    queue_s: float
    start_s: float
    run_s: float
    total_s: float
    state: str


def trigger(deployment: str, parameters: dict[str, object], job_variables: dict[str, object] | None = None) -> UUID:
    """Run ``prefect deployment run`` exactly as a user types it; the new flow run's id."""
    command = [sys.executable, "-m", "prefect", "deployment", "run", deployment]
    for key, value in parameters.items():
        command += ["-p", f"{key}={json.dumps(value)}"]
    for key, value in (job_variables or {}).items():
        command += ["--job-variable", f"{key}={json.dumps(value)}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = _RUN_ID.search(out)
    if not found:
        raise RuntimeError(f"no flow run id in the CLI output:\n{out}")
    return UUID(found.group(1))


def _first(states: list[State], name: str) -> dt.datetime | None:
    return next((s.timestamp for s in states if s.type.value == name), None)


def measure_once(
    deployment: str,
    parameters: dict[str, object],
    job_variables: dict[str, object] | None = None,
    timeout_s: float = 120.0,
) -> Sample:
    began_wall = dt.datetime.now(dt.timezone.utc)
    began = time.perf_counter()
    run_id = trigger(deployment, parameters, job_variables)
    with get_client(sync_client=True) as client:
        while True:
            run: FlowRun = client.read_flow_run(run_id)
            if run.state is not None and run.state.is_final():
                total = time.perf_counter() - began
                break
            if time.perf_counter() - began > timeout_s:
                raise TimeoutError(f"flow run {run_id} not final after {timeout_s:.0f} s")
            time.sleep(0.05)
        states = sorted(client.read_flow_run_states(run_id), key=lambda s: s.timestamp)
    assert run.created is not None and run.state is not None
    pending, running, final = _first(states, "PENDING"), _first(states, "RUNNING"), states[-1].timestamp
    if pending is None or running is None:
        raise RuntimeError(f"flow run {run_id} ended {run.state.name} without Pending/Running")
    return Sample(
        cli_s=run.created.timestamp() - began_wall.timestamp(),
        queue_s=(pending - run.created).total_seconds(),
        start_s=(running - pending).total_seconds(),
        run_s=(final - running).total_seconds(),
        total_s=total,
        state=run.state.name or run.state.type.value,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deployments.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--deployment", default="hedge-fund/analyze")
    parser.add_argument("--tickers", default="AAPL,NVDA")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.0, help="seconds to wait between runs")
    parser.add_argument(
        "--job-variable", action="append", default=[], metavar="KEY=JSON", help="a per-run job variable override"
    )
    args = parser.parse_args(argv)
    job_variables = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.job_variable)}
    samples: list[Sample] = []
    print(f"{'run':>3} {'cli':>6} {'queue':>6} {'start':>6} {'run':>6} {'total':>6}  state")
    for index in range(args.runs):
        sample = measure_once(args.deployment, {"tickers": args.tickers.split(",")}, job_variables)
        samples.append(sample)
        print(
            f"{index + 1:>3} {sample.cli_s:6.2f} {sample.queue_s:6.2f} {sample.start_s:6.2f} "
            f"{sample.run_s:6.2f} {sample.total_s:6.2f}  {sample.state}"
        )
        time.sleep(args.pause)
    fields = ("cli_s", "queue_s", "start_s", "run_s", "total_s")
    medians = {f: statistics.median(getattr(s, f) for s in samples) for f in fields}
    print("med " + " ".join(f"{medians[f]:6.2f}" for f in fields))
    return 0 if all(s.state == "Completed" for s in samples) else 1


if __name__ == "__main__":
    raise SystemExit(main())
