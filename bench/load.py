"""Load test: N runs over overlapping tickers on W workers sharing one Prefect server, cache and limits.

``python -m bench.load [--runs 50] [--workers 3] [--redis URL] [--prefect-database-url URL]``

Starts, in a temporary home: the fake model server (OpenAI-compatible, with
its concurrency and per-minute request counts recorded at the wire) and the
fake market-data server, a Prefect server on a free port, ``make deploy``'s
step (``python -m deployments.deploy``), W ``hedgeflow worker`` processes,
then triggers the runs of ``hedge-fund/analyze`` at once over ticker pairs
that overlap, waits for them and reports: how many completed, p50/p95 trigger
to completed (the server's timestamps: created -> end), model calls against
unique (analyst, ticker) keys, and the model server's peak in-flight calls and
busiest minute against the ``openai-compatible`` limits of the Provider Limits
block. Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.config import BUNDLED, DATA_KEY

__all__ = ["main", "run_load"]

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "hedge-fund/analyze"


class WireCounter:
    """ASGI middleware: calls in flight now, the peak, and requests per wall-clock minute."""

    def __init__(self, app: Any) -> None:
        self.app, self.lock = app, threading.Lock()
        self.in_flight = self.peak = 0
        self.per_minute: Counter[int] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and not scope["path"].startswith("/admin")
        if counted:
            with self.lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                self.per_minute[int(time.time() // 60)] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                with self.lock:
                    self.in_flight -= 1


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (flow runs a worker started have their own process groups)."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                tree.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _pairs(runs: int) -> list[list[str]]:
    """Ticker pairs cycling over the bundled companies: every ticker appears in many runs."""
    combos = list(itertools.combinations(BUNDLED, 2))
    return [list(combos[i % len(combos)]) for i in range(runs)]


def _wait_healthy(url: str, timeout_s: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"Prefect server at {url} not healthy after {timeout_s:.0f} s")


def _percentile(values: list[float], q: float) -> float:
    from hedgeflow.stats import percentile

    return percentile(values, q)


async def _trigger_and_wait(pairs: list[list[str]], model: str, timeout_s: float) -> list[Any]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENT)
        runs = await asyncio.gather(*(
            client.create_flow_run_from_deployment(
                deployment.id, parameters={"tickers": pair, "model": model, "data_provider": "financialdatasets",
                                           "end": "2025-10-08"},
            )
            for pair in pairs
        ))
        deadline = time.monotonic() + timeout_s
        while True:
            current = [await client.read_flow_run(r.id) for r in runs]
            if all(r.state and r.state.is_final() for r in current) or time.monotonic() > deadline:
                return current
            await asyncio.sleep(2)


def run_load(runs: int, workers: int, redis: str | None, prefect_db: str | None, model_latency: float,
             timeout_s: float) -> dict[str, Any]:
    """Everything above; returns the report."""
    from bench import serve_in_thread
    from bench.fake_data import create_app as data_app
    from bench.fake_model import create_app as model_app
    from blocks.limits import DEFAULT_LIMITS

    base = Path(tempfile.mkdtemp(prefix="hedgeflow-load-"))
    model_fake = model_app(latency=model_latency, jitter=0.1, seed=0, retry_after_s=1.0)
    wire = WireCounter(model_fake)
    model_url, stop_model = serve_in_thread(wire)  # type: ignore[arg-type]
    data_url, stop_data = serve_in_thread(data_app(latency=0.15, api_key=DATA_KEY, seed=0))
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(PREFECT_HOME=str(base / "prefect"), PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS="1",
               PREFECT_LOGGING_LEVEL="WARNING", HEDGEFLOW_HOME=str(base / "home"),
               FINANCIAL_DATASETS_BASE_URL=data_url, FINANCIAL_DATASETS_API_KEY=DATA_KEY)
    if redis:
        env["HEDGEFLOW_REDIS_URL"] = redis
    if prefect_db:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db
    children: list[subprocess.Popen[bytes]] = []
    prefect = str(Path(sys.executable).with_name("prefect"))

    def start(name: str, *argv: str) -> None:
        with (base / f"{name}.log").open("wb") as log:
            children.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True))

    try:
        start("server", prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port))
        _wait_healthy(api_url)
        subprocess.run([sys.executable, "-m", "deployments.deploy"], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        for n in range(workers):
            start(f"worker-{n}", sys.executable, "-m", "deployments.cli", "worker", "--name", f"load-{n}")
        os.environ["PREFECT_API_URL"] = api_url
        from prefect.settings import PREFECT_API_URL, temporary_settings

        pairs = _pairs(runs)
        model = f"openai-compatible:fake@{model_url}/v1"
        began = time.monotonic()
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            finished = asyncio.run(_trigger_and_wait(pairs, model, timeout_s))
        wall_s = time.monotonic() - began
        counters = model_fake.state.fake.counters
        states = Counter(r.state.name if r.state else "none" for r in finished)
        latencies = [(r.end_time - r.created).total_seconds() for r in finished
                     if r.state and r.state.is_completed() and r.end_time and r.created]
        unique_keys = len({t for pair in pairs for t in pair}) * 19
        limit = next(x for x in DEFAULT_LIMITS if x.provider == "openai-compatible")
        busiest = max(wire.per_minute.values(), default=0)
        return {
            "runs": runs, "workers": workers, "states": dict(states), "wall_s": round(wall_s, 1),
            "trigger_to_completed_p50_s": round(_percentile(latencies, 50), 2),
            "trigger_to_completed_p95_s": round(_percentile(latencies, 95), 2),
            "model_calls": counters.get("calls"), "unique_analyst_keys": unique_keys,
            "portfolio_calls_expected": runs,
            "peak_in_flight": wire.peak, "in_flight_limit": limit.in_flight,
            "busiest_minute_requests": busiest, "requests_per_minute_limit": limit.requests_per_minute,
            "limits_respected": wire.peak <= limit.in_flight and busiest <= limit.requests_per_minute,
            "logs": str(base),
        }
    finally:
        below = set().union(*(_descendants(c.pid) for c in children)) if children else set()
        for child in reversed(children):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        for pid in below:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        stop_model()
        stop_data()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--redis", help="shared cache, locks and breaker, e.g. redis://127.0.0.1:6379/5")
    parser.add_argument("--prefect-database-url", help="the Prefect server's database (postgresql+asyncpg://...)")
    parser.add_argument("--model-latency", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for every run")
    args = parser.parse_args(argv)
    report = run_load(args.runs, args.workers, args.redis, args.prefect_database_url, args.model_latency, args.timeout)
    print(json.dumps(report, indent=2))
    return 0 if report["states"].get("Completed", 0) == args.runs else 1


if __name__ == "__main__":
    raise SystemExit(main())
