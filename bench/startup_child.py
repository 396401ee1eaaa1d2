"""The instrumented child of ``bench.startup``: ``analyze --tickers AAPL,NVDA`` as the CLI runs it, phase by phase.

``python -m bench.startup_child MARKS.json`` writes the time each phase ended
to the file after each phase. Only the standard library is imported at the
top, so the interpreter-start phase is not inflated by the benchmark itself.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

TICKERS = "AAPL,NVDA"


def main(marks_path: str) -> int:
    """Run ``analyze --tickers AAPL,NVDA`` like the CLI does, stamping each phase."""
    marks: dict[str, float] = {"child_start": time.time()}

    def mark(name: str) -> None:
        marks[name] = time.time()
        Path(marks_path).write_text(json.dumps(marks))

    from deployments.local_server import resolve_api

    api = resolve_api(lambda line: print(line, file=sys.stderr))
    mark("resolve_api")

    from deployments import cli, cli_analyze

    args = cli._parser().parse_args(["analyze", "--tickers", TICKERS])
    request = cli_analyze.build_request(args, lambda line: None)
    cli_analyze.configure_prefect("normal", ephemeral=api is None)
    mark("cli_and_validation")

    import asyncio

    from flows.hedge_fund import hedge_fund
    from hedgeflow.report import render_text

    mark("import_flow")

    from prefect.client.orchestration import get_client

    async def connect() -> None:
        async with get_client() as client:  # ephemeral mode: starts the temporary server
            await client.api_healthcheck()

    asyncio.run(connect())
    mark("connect")

    result = asyncio.run(
        hedge_fund(
            tickers=request.tickers,
            start=request.start,
            end=request.end,
            analysts=request.analysts,  # type: ignore[arg-type]  # names checked by build_request
            model=request.model,
            portfolio=request.portfolio,
            refresh=request.refresh,
            data_provider="offline",
        )
    )
    mark("flow")
    print(render_text(result, show_reasoning=False))
    sys.stdout.flush()
    marks["api"] = 0.0 if api is None else 1.0
    mark("output")

    # What Prefect otherwise does at interpreter exit, timed: send the
    # remaining events (websocket) and logs (HTTP), then the rest of exit.
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all()
    mark("drain_events")
    APILogWorker.drain_all()
    mark("drain_logs")
    return 0 if result.status != "failed" else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
