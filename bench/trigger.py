"""TRIG: a deployment run triggered to Completed, `hedgeflow worker` against Prefect's process worker.

    python -m bench.trigger [--runs 5] [--json]     # alone; `hedgeflow bench --scenario TRIG` in the benchmark

In a temporary home (``PREFECT_HOME``, ``HEDGEFLOW_HOME``: SQLite, local
result files, nothing of the user's touched) it starts ``prefect server
start`` on a free port, creates the two pools ``make deploy`` knows
(``hedgeflow`` and ``hedgeflow-process``) and one analyze deployment on each
(the process one with ``make deploy``'s engine-command job variable), then for
each worker in turn: starts it, triggers one run to warm it (imports, caches),
and measures ``runs`` more one after another, each from
``create_flow_run_from_deployment`` (what the UI's Run button calls) until the
API reports a final state: AAPL,NVDA, every analyst, the rules model, offline
data. The state history splits each into queue (created -> Pending), start
(Pending -> Running) and run (Running -> final). Everything it started is
stopped at the end.

Each run is triggered on a settled server, as a user's click from the UI is:
after a run reports Completed, the server still records its task runs' states
(events) and logs for a while, and a trigger sent meanwhile waits behind those
writes (about 2 s on the SQLite server, measured 2026-11-30). That time is
reported per run as ``tail``: the time from seeing the final state until the
server holds every task run's final state; a run triggered back to back takes
about trigger-to-Completed plus the previous run's tail.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from bench.config import PAIR, Config, say, times

__all__ = ["main", "scenario_trigger"]

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 2.5
ENTRYPOINT = "flows/hedge_fund.py:hedge_fund"
WORKERS = ("hedgeflow", "process")
POOLS = {"hedgeflow": "hedgeflow", "process": "hedgeflow-process"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Children:
    """Child processes in their own sessions (logs in the temporary home), stopped by process group."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base, self.env = base, env
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with (self.base / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.started.append(process)
        return process

    def tail(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""

    def stop(self, process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop_all(self) -> None:
        for process in reversed(self.started):
            self.stop(process)


@contextlib.contextmanager
def _server(base: Path) -> Iterator[tuple[_Children, str]]:
    import httpx

    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(PREFECT_HOME=str(base / "prefect"), PREFECT_API_URL=api_url, HEDGEFLOW_HOME=str(base / "hedgeflow"),
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_LOGGING_LEVEL="WARNING",
               PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS="1",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    children = _Children(base, env)
    try:
        server = children.start("server", sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                 "--port", str(port))
        deadline = time.monotonic() + 300  # migrations take minutes on a loaded 2-CPU machine
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited {server.returncode}: {children.tail('server')}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{api_url}/health", timeout=10).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not healthy after 300 s: {children.tail('server')}")
            time.sleep(0.25)
        yield children, api_url
    finally:
        children.stop_all()


def _deployments(api_url: str) -> dict[str, UUID]:
    """Both pools and one analyze deployment on each, as ``make deploy`` makes them; worker kind -> deployment id."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from deployments.deploy import engine_command, ensure_work_pool

    ids: dict[str, UUID] = {}
    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name("hedge-fund")
        for kind, pool in POOLS.items():
            ensure_work_pool(pool)
            command = engine_command() if kind == "process" else None
            ids[kind] = client.create_deployment(
                flow_id=flow_id, name=f"analyze-{kind}", entrypoint=ENTRYPOINT, work_pool_name=pool, path=str(ROOT),
                pull_steps=[{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}],
                job_variables={"command": command} if command else {}, parameters={"tickers": PAIR},
            )
    return ids


def _measure(api_url: str, deployment_id: UUID, timeout_s: float = 600) -> dict[str, Any]:
    """One run: trigger to a final state, and the parts of it from the server's state history."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        began = time.perf_counter()
        run = client.create_flow_run_from_deployment(deployment_id, parameters={"tickers": PAIR})
        while True:
            current = client.read_flow_run(run.id)
            if current.state is not None and current.state.is_final():
                total = time.perf_counter() - began
                break
            if time.perf_counter() - began > timeout_s:
                raise TimeoutError(f"flow run {run.id} not final after {timeout_s:.0f} s ({current.state_name})")
            time.sleep(0.02)
        tail = _settle(client, run.id)
        states = sorted(client.read_flow_run_states(run.id), key=lambda s: s.timestamp)
    if not current.state.is_completed():
        raise RuntimeError(f"flow run {run.id} ended {current.state.name}: {current.state.message}")
    first = {s.type.value: s.timestamp for s in reversed(states)}
    created, pending, running, ended = run.created, first.get("PENDING"), first.get("RUNNING"), states[-1].timestamp
    parts = {"trigger_to_completed_s": total}
    if created and pending and running:
        parts |= {"queue_s": (pending - created).total_seconds(), "start_s": (running - pending).total_seconds(),
                  "run_s": (ended - running).total_seconds()}
    return parts | {"tail_s": tail}


def _settle(client: Any, flow_run_id: UUID, steady_s: float = 0.5, timeout_s: float = 60) -> float:
    """Wait until the server holds a final state for every task run of ``flow_run_id`` and their number has
    stopped growing for ``steady_s``; the seconds that took, not counting the steady wait (at most the timeout)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    began = time.perf_counter()
    seen: tuple[int, int] | None = None
    since = began
    while time.perf_counter() - began < timeout_s:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
        now = (len(runs), sum(1 for r in runs if r.state is not None and r.state.is_final()))
        if now != seen:
            seen, since = now, time.perf_counter()
        elif now[0] and now[0] == now[1] and time.perf_counter() - since >= steady_s:
            break
        time.sleep(0.05)
    return max(0.0, since - began)


def _worker_argv(kind: str, pool: str) -> list[str]:
    if kind == "hedgeflow":
        return [sys.executable, "-m", "deployments.cli", "worker", "--pool", pool, "--poll-seconds", "1"]
    return [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"]


def scenario_trigger(config: Config, kinds: tuple[str, ...] = WORKERS) -> dict[str, Any]:
    """Per worker kind: the median (min, max) trigger-to-Completed of ``config.repeats`` warm runs, and its parts."""
    base = Path(tempfile.mkdtemp(prefix="hedgeflow-bench-trig-"))
    report: dict[str, Any] = {"description": "deployment run triggered to Completed (warm, rules)",
                              "target_s": TARGET_S, "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        with _server(base) as (children, api_url):
            deployments = _deployments(api_url)
            for kind in kinds:
                worker = children.start(f"worker-{kind}", *_worker_argv(kind, POOLS[kind]))
                try:
                    say(f"  TRIG {kind} worker: warm-up run ...")
                    _measure(api_url, deployments[kind])
                    samples = []
                    for index in range(config.repeats):
                        samples.append(_measure(api_url, deployments[kind]))
                        parts = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in samples[-1].items())
                        say(f"  TRIG {kind} worker: run {index + 1}: {parts} s; load {os.getloadavg()[0]:.1f}")
                except Exception as exc:
                    raise RuntimeError(f"{kind} worker: {exc}\n{children.tail(f'worker-{kind}')}") from exc
                finally:
                    children.stop(worker)
                report[kind] = {key: times([s[key] for s in samples]) for key in samples[0]}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    report["wall_s"] = report[kinds[0]]["trigger_to_completed_s"]  # the headline: the first kind (ours)
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["base"] = str(base)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.trigger", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per worker after one warm-up (default 5)")
    parser.add_argument("--worker", choices=WORKERS, action="append", help="only this worker kind (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = scenario_trigger(Config(repeats=max(1, args.runs)), tuple(args.worker or WORKERS))
    report["date"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for kind in args.worker or WORKERS:
        parts = "  ".join(f"{k.removesuffix('_s')} {v['median']:.2f}" for k, v in report[kind].items())
        print(f"{kind:>9} worker: {parts}  (medians in s of {args.runs} runs; {shlex.join(_worker_argv(kind, POOLS[kind])[1:])})")
    print(f"load average {report['load_average_at_start']} -> {report['load_average_at_end']}, {report['date']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
