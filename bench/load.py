"""Load test: N runs over overlapping tickers on W workers sharing one PostgreSQL-backed Prefect server and its limits.

``python -m bench.load [--runs 50] [--workers 3] [--in-flight 4] [--rpm 600] [--analysts a,b] [--redis URL]``
(the benchmark's ``LOAD`` scenario: ``hedgeflow bench --scenario LOAD``)

Starts, in a temporary home: a throw-away PostgreSQL database on the shared
server (``--postgres-dsn``; dropped at the end) for a Prefect server on a free
port, the fake model server (OpenAI-compatible; every request's time and the
calls in flight recorded at the wire) and the fake market-data server, saves
the ``default`` Provider Limits block with the given limits for
``openai-compatible`` and ``financialdatasets``, runs ``make deploy``'s step
(``python -m deployments.deploy``, which turns the block into global
concurrency limits), starts W workers (``--worker-command``, default ``hedgeflow worker``
on the ``hedgeflow`` pool), triggers the runs of
``hedge-fund/analyze`` at once over ticker pairs that overlap, waits for them
and reports: how many completed, p50/p95 trigger to completed (the server's
timestamps: created -> end), model calls against unique cache keys (analyst x
ticker, plus one portfolio call per distinct pair), peak calls in flight at
each fake against its in-flight limit, the busiest 60 s of model requests
against requests_per_minute, and what taking a limit costs (ms per call).
Everything it started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import contextvars
import itertools
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.config import BUNDLED, DATA_KEY, Config

__all__ = ["DEFAULT_WORKER_COMMAND", "WireCounter", "busiest_window", "main", "run_load", "scenario_load",
           "throwaway_postgres"]

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "hedge-fund/analyze"
ANALYSTS = 19
# `hedgeflow worker` on the pool make deploy creates (flow runs in-process), {n} numbering the workers, at most
# 3 runs at once each: 9 analyze runs at once keep this 2-core machine's API server answering (15 starved it);
# Prefect's process worker is the alternative: `prefect worker start --pool hedgeflow-process`
# with HEDGEFLOW_WORK_POOL=hedgeflow-process set for the deploy step
DEFAULT_WORKER_COMMAND = f"{sys.executable} -m deployments.cli worker --name load-{{n}} --limit 3"
POSTGRES_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


class WireCounter:
    """ASGI middleware: calls in flight now, their peak, and every request's arrival time."""

    def __init__(self, app: Any) -> None:
        self.app, self.lock = app, threading.Lock()
        self.in_flight = self.peak = 0
        self.arrivals: list[float] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        counted = scope["type"] == "http" and not scope["path"].startswith("/admin")
        if counted:
            with self.lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                self.arrivals.append(time.monotonic())
        try:
            await self.app(scope, receive, send)
        finally:
            if counted:
                with self.lock:
                    self.in_flight -= 1


def busiest_window(times: list[float], window_s: float) -> int:
    """The most of ``times`` inside any half-open window [t, t + window_s): the peak rate over that window."""
    ordered = sorted(times)
    return max((bisect.bisect_left(ordered, t + window_s) - i for i, t in enumerate(ordered)), default=0)


@contextlib.contextmanager
def throwaway_postgres(dsn: str = POSTGRES_DSN) -> Iterator[str]:
    """A fresh database ``hedgeflow_load_<random>`` on the shared server, dropped afterwards; yields its URL's stem.

    The stem is ``postgresql+{driver}://user@host:port/name`` with ``{driver}`` left to fill in.
    """
    import psycopg

    name = f"hedgeflow_load_{secrets.token_hex(4)}"
    params = dict(item.split("=", 1) for item in dsn.split())
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (f"postgresql+{{driver}}://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:"
               f"{params.get('port', '5432')}/{name}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    found: set[int] = set()
    todo = [pid]
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


def _analyze_only(base: Path) -> Path:
    """prefect.yaml with only the ``analyze`` deployment: the other four would cost minutes of ``prefect deploy``."""
    import yaml

    from deployments.deploy import PREFECT_FILE

    config = yaml.safe_load(PREFECT_FILE.read_text())
    config["deployments"] = [d for d in config["deployments"] if d["name"] == DEPLOYMENT.split("/")[1]]
    path = base / "prefect.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _wait_healthy(url: str, timeout_s: float = 300) -> None:
    """Up to minutes: the server migrates a fresh PostgreSQL schema first, and this machine is shared."""
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"Prefect server at {url} not healthy after {timeout_s:.0f} s")


async def _trigger_and_wait(pairs: list[list[str]], parameters: dict[str, Any], timeout_s: float) -> list[Any]:
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        deployment = await client.read_deployment_by_name(DEPLOYMENT)
        runs = await asyncio.gather(*(
            client.create_flow_run_from_deployment(deployment.id, parameters={"tickers": pair, **parameters})
            for pair in pairs
        ))
        deadline = time.monotonic() + timeout_s
        while True:
            current = [await client.read_flow_run(r.id) for r in runs]
            if all(r.state and r.state.is_final() for r in current) or time.monotonic() > deadline:
                return current
            await asyncio.sleep(2)


def _limit_cost_ms(calls: int = 20, timeout_s: float = 120.0) -> dict[str, float] | str:
    """Median ms around an empty body: a provider with both limits (roomy) and one with none.

    On a thread given ``timeout_s``: once, under heavy load, a rate slot was still not granted
    after minutes, and a figure is not worth a hung benchmark.
    """
    result: list[dict[str, float]] = []
    context = contextvars.copy_context()  # the load server's API URL is a context setting: the thread needs it
    thread = threading.Thread(target=lambda: result.append(context.run(_measure_limit_cost, calls)), daemon=True)
    thread.start()
    thread.join(timeout_s)
    return result[0] if result else f"not measured: no answer within {timeout_s:.0f} s"


def _measure_limit_cost(calls: int) -> dict[str, float]:
    from statistics import median

    from blocks.limits import ProviderLimit
    from deployments.limits import apply_limits
    from tasks.limits import forget_limits, provider_limits

    apply_limits([ProviderLimit(provider="bench-cost", requests_per_minute=600_000, in_flight=1000)])
    forget_limits()
    out: dict[str, float] = {}
    for label, provider in (("with_limits", "bench-cost"), ("without", "no-such-provider")):
        spent = []
        for _ in range(calls + 1):
            began = time.perf_counter()
            with provider_limits(provider):
                pass
            spent.append(time.perf_counter() - began)
        out[label] = round(1000 * median(spent[1:]), 2)  # the first read the server's limit names
    return out


def run_load(runs: int = 50, workers: int = 3, *, in_flight: int = 4, rpm: float = 150, data_in_flight: int = 4,
             analysts: list[str] | None = None, redis: str | None = None, postgres_dsn: str = POSTGRES_DSN,
             worker_command: str = DEFAULT_WORKER_COMMAND, model_latency: float = 2.0,
             timeout_s: float = 1800.0) -> dict[str, Any]:
    """Everything above; returns the report."""
    from bench import serve_in_thread
    from bench.fake_data import create_app as data_app
    from bench.fake_model import create_app as model_app

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    base = Path(tempfile.mkdtemp(prefix="hedgeflow-load-"))
    model_fake, data_fake = model_app(latency=model_latency, jitter=0.1, seed=0), data_app(latency=0.05,
                                                                                         api_key=DATA_KEY, seed=0)
    wire, data_wire = WireCounter(model_fake), WireCounter(data_fake)
    model_url, stop_model = serve_in_thread(wire)  # type: ignore[arg-type]
    data_url, stop_data = serve_in_thread(data_wire)  # type: ignore[arg-type]
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(PREFECT_HOME=str(base / "prefect"), PREFECT_API_URL=api_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false", PREFECT_WORKER_QUERY_SECONDS="1",
               PREFECT_LOGGING_LEVEL="WARNING", HEDGEFLOW_HOME=str(base / "home"),
               FINANCIAL_DATASETS_BASE_URL=data_url, FINANCIAL_DATASETS_API_KEY=DATA_KEY)
    if redis:
        env["HEDGEFLOW_REDIS_URL"] = redis
    children: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str]) -> None:
        with (base / f"{name}.log").open("wb") as log:
            children.append(subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True))

    from prefect.settings import PREFECT_API_URL, temporary_settings

    from blocks.limits import ProviderLimit, ProviderLimits

    limits = [ProviderLimit(provider="openai-compatible", requests_per_minute=rpm, in_flight=in_flight),
              ProviderLimit(provider="financialdatasets", requests_per_minute=60_000, in_flight=data_in_flight)]
    try:
        with throwaway_postgres(postgres_dsn) as prefect_db, throwaway_postgres(postgres_dsn) as hedgeflow_db:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_db.format(driver="asyncpg")
            env["HEDGEFLOW_DATABASE_URL"] = hedgeflow_db.format(driver="psycopg")  # the runs' store, shared too
            try:
                start("server", [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                                 "127.0.0.1", "--port", str(port)])
                _wait_healthy(api_url)
                with temporary_settings(updates={PREFECT_API_URL: api_url}):
                    ProviderLimits(limits=limits).save("default", overwrite=True)
                    subprocess.run([sys.executable, "-m", "deployments.deploy", "--prefect-file",
                                    str(_analyze_only(base))], cwd=ROOT, env=env, check=True,
                                   stdout=subprocess.DEVNULL)
                    for n in range(workers):
                        start(f"worker-{n}", shlex.split(worker_command.format(n=n)))
                    pairs = _pairs(runs)
                    parameters: dict[str, Any] = {"model": f"openai-compatible:fake@{model_url}/v1",
                                                  "data_provider": "financialdatasets", "end": "2025-10-08"}
                    if analysts:
                        parameters["analysts"] = analysts
                    began = time.monotonic()
                    finished = asyncio.run(_trigger_and_wait(pairs, parameters, timeout_s))
                    wall_s = time.monotonic() - began
                    cost = _limit_cost_ms()
            finally:
                _stop(children)
    finally:
        stop_model()
        stop_data()
    return _report(finished, pairs, analysts, wire, data_wire, model_fake, limits, wall_s, cost, load_at_start,
                   workers, base)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
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


def _report(finished: list[Any], pairs: list[list[str]], analysts: list[str] | None, wire: WireCounter,
            data_wire: WireCounter, model_fake: Any, limits: list[Any], wall_s: float, cost: dict[str, float] | str,
            load_at_start: list[float], workers: int, base: Path) -> dict[str, Any]:
    from hedgeflow.stats import percentile

    states = Counter(r.state.name if r.state else "none" for r in finished)
    latencies = [(r.end_time - r.created).total_seconds() for r in finished
                 if r.state and r.state.is_completed() and r.end_time and r.created]
    per_ticker = len(analysts) if analysts else ANALYSTS
    unique_keys = len({t for pair in pairs for t in pair}) * per_ticker + len({tuple(p) for p in pairs})
    model_limit, data_limit = limits
    busiest = busiest_window(wire.arrivals, 60.0)
    rate_s = model_limit.requests_per_minute / 60.0
    calls = int(model_fake.state.fake.counters.get("calls", 0))
    # the rate limit is one slot that frees 60 / rpm s after it was taken: at most 1 + window x rate per window
    respected = (wire.peak <= model_limit.in_flight and busiest <= 1 + 60 * rate_s
                 and data_wire.peak <= data_limit.in_flight)
    return {
        "description": f"{len(pairs)} runs on {workers} workers, PostgreSQL-backed Prefect server",
        "runs": len(pairs), "workers": workers, "states": dict(states),
        "completed": states.get("Completed", 0), "wall_s": round(wall_s, 1),
        "trigger_to_completed_p50_s": round(percentile(latencies, 50), 2) if latencies else None,
        "trigger_to_completed_p95_s": round(percentile(latencies, 95), 2) if latencies else None,
        "model_calls": calls, "unique_model_keys": unique_keys, "extra_model_calls": calls - unique_keys,
        "peak_model_in_flight": wire.peak, "model_in_flight_limit": model_limit.in_flight,
        "busiest_60s_model_requests": busiest, "model_requests_per_minute_limit": model_limit.requests_per_minute,
        "busiest_5s_model_requests": busiest_window(wire.arrivals, 5.0), "model_requests_5s_allowed": 1 + 5 * rate_s,
        "peak_data_in_flight": data_wire.peak, "data_in_flight_limit": data_limit.in_flight,
        "data_requests": len(data_wire.arrivals),
        "limits_respected": respected, "limit_take_ms": cost,
        "load_average_at_start": load_at_start, "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "logs": str(base),
    }


def scenario_load(config: Config) -> dict[str, Any]:
    """The benchmark's LOAD scenario: the defaults above at the benchmark's model latency and run count."""
    return run_load(config.load_runs, config.load_workers, redis=config.redis, model_latency=config.model_latency)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--in-flight", type=int, default=4, help="model calls open at once, across every worker")
    parser.add_argument("--rpm", type=float, default=150, help="model requests per minute, across every worker")
    parser.add_argument("--data-in-flight", type=int, default=4, help="data API calls open at once")
    parser.add_argument("--analysts", help="comma-separated subset (default: all 19)")
    parser.add_argument("--redis", help="shared cache, locks and breaker, e.g. redis://127.0.0.1:6379/5")
    parser.add_argument("--postgres-dsn", default=POSTGRES_DSN, help="where the throw-away database is created")
    parser.add_argument("--worker-command", default=DEFAULT_WORKER_COMMAND,
                        help="one worker's command line; {n} is its number")
    parser.add_argument("--model-latency", type=float, default=2.0, help="the fake model's seconds per call")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for every run")
    args = parser.parse_args(argv)
    # a stopped load test still stops its server and workers and drops its databases (the finally blocks)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    report = run_load(args.runs, args.workers, in_flight=args.in_flight, rpm=args.rpm,
                      data_in_flight=args.data_in_flight,
                      analysts=[a.strip() for a in args.analysts.split(",")] if args.analysts else None,
                      redis=args.redis, postgres_dsn=args.postgres_dsn, worker_command=args.worker_command,
                      model_latency=args.model_latency, timeout_s=args.timeout)
    print(json.dumps(report, indent=2))
    return 0 if report["completed"] == args.runs and report["limits_respected"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
