"""``hedgeflow worker``: start the in-process Hedgeflow worker on a work pool of type ``hedgeflow``.

It imports the flows ``prefect.yaml`` declares before it asks for work, polls
every ``--poll-seconds`` (and wakes on the server's Scheduled events), and runs
at most ``--limit`` flow runs at once, each in a thread of this process.
Ctrl-C or SIGTERM (a container stopping) stops it: a run still in flight is
cancelled and marked Crashed with a message saying the worker stopped.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

__all__ = ["DEFAULT_LIMIT", "DEFAULT_POLL_S", "add_parser", "run"]

DEFAULT_POLL_S = 1.0  # Prefect's default is 10 s; the Scheduled events make most runs start sooner still
DEFAULT_LIMIT = 4  # runs at once per worker process: each hedge_fund run has its own task thread pool


def add_parser(commands: Any) -> None:
    worker = commands.add_parser("worker", help="run deployment flow runs in this process (a Prefect worker)")
    worker.add_argument("--pool", default=None, help="the work pool (default: hedgeflow, made by make deploy)")
    worker.add_argument("--name", default=None, help="the worker's name in the UI (default: generated)")
    worker.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"flow runs at once (default {DEFAULT_LIMIT})")
    worker.add_argument("--poll-seconds", type=float, default=DEFAULT_POLL_S,
                        help=f"how often to ask the pool for runs (default {DEFAULT_POLL_S:g})")
    worker.add_argument("--with-healthcheck", action="store_true",
                        help="answer GET /health on PREFECT_WORKER_WEBSERVER_PORT (default 8080) while polling")
    worker.add_argument("--run-once", action="store_true", help="take the runs due now, finish them, and exit")


def run(args: argparse.Namespace) -> int:
    if args.limit < 1 or args.poll_seconds <= 0:
        print("hedgeflow worker: error: --limit must be at least 1 and --poll-seconds above 0", file=sys.stderr)
        return 2
    import anyio
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_WORKER_QUERY_SECONDS,
        temporary_settings,
    )

    if not PREFECT_API_URL.value():
        print("hedgeflow worker: error: PREFECT_API_URL is not set; start a server (hedgeflow server start or "
              "prefect server start) and run: prefect config set PREFECT_API_URL=http://127.0.0.1:4200/api",
              file=sys.stderr)
        return 2
    from deployments.deploy import declarations
    from deployments.worker import POOL_NAME, HedgeflowWorker

    worker = HedgeflowWorker(args.pool or POOL_NAME, name=args.name, limit=args.limit)
    worker.preload([d.entrypoint for d in declarations() if d.flow_file.is_file()])

    async def until_stopped() -> None:
        """The worker until it returns (--run-once) or SIGTERM / SIGINT arrive; then its runs are cancelled."""
        async with anyio.create_task_group() as group:

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        group.cancel_scope.cancel()

            group.start_soon(stop_on_signal)
            await worker.start(run_once=args.run_once, with_healthcheck=args.with_healthcheck)
            group.cancel_scope.cancel()

    with temporary_settings(updates={PREFECT_WORKER_QUERY_SECONDS: args.poll_seconds}):
        anyio.run(until_stopped)
    return 0
