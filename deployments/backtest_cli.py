"""``hedgeflow backtest`` and ``hedgeflow scorecard``: registered by deployments/cli.py.

Imports are lazy, like the rest of the command: building the parsers loads
nothing heavy. Bad input is one line and exit code 2 before any work starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from deployments.cli_args import comma_list, iso_date

__all__ = ["add_parsers", "run"]

EXIT_USAGE = 2
COMMANDS = ("backtest", "scorecard")


def add_parsers(commands: Any) -> None:
    """Add the two commands to the ``hedgeflow`` sub-parsers."""
    bt = commands.add_parser("backtest", help="replay the committee over a window and trade it on a simulated book")
    bt.add_argument("--tickers", type=comma_list, required=True, help="comma-separated, e.g. AAPL,NVDA")
    bt.add_argument("--start", type=iso_date, help="first session (default: a year before end)")
    bt.add_argument("--end", type=iso_date, help="last session (default: the latest date in the data)")
    bt.add_argument("--frequency", choices=["daily", "weekly", "monthly"], default="monthly", help="rebalancing (default monthly)")
    bt.add_argument("--analysts", type=comma_list, default=["all"], help="all, or comma-separated keys")
    bt.add_argument("--model", default="rules", help="rules | anthropic:M | openai:M | openai-compatible:M@URL")
    bt.add_argument("--cash", type=float, default=100_000.0, help="starting cash (default 100000)")
    bt.add_argument("--margin-requirement", type=float, default=0.5, help="collateral per USD shorted (default 0.5)")
    bt.add_argument("--commission-per-share", type=float, default=0.0, help="USD per share (default 0)")
    bt.add_argument("--commission-bps", type=float, default=0.0, help="basis points of each fill (default 0)")
    bt.add_argument("--slippage-bps", type=float, default=0.0, help="basis points each fill is worse than the open (default 0)")
    bt.add_argument("--benchmark", default="SPY", help="benchmark ticker (default SPY)")
    bt.add_argument("--data-provider", default="offline", choices=["offline", "financialdatasets"])
    bt.add_argument("--max-cost", type=float, help="stop cleanly before model spend passes this many USD")
    bt.add_argument("--weight-analysts", action="store_true",
                    help="weight each analyst by its scorecard so far (rank IC at 21 sessions; off by default)")
    bt.add_argument("--refresh", action="store_true", help="recompute and rewrite cached results")
    bt.add_argument("--output", help="directory for the JSON and PNG (default: <data dir>/backtests)")
    bt.add_argument("--json", action="store_true", help="print the BacktestResult as JSON and nothing else")

    sc = commands.add_parser("scorecard", help="how each analyst's signals related to forward returns (stored backtest)")
    sc.add_argument("--run", help="a backtest run id or JSON path (default: the latest)")
    sc.add_argument("--horizon", type=int, choices=[5, 21, 63], help="only this many sessions forward")
    sc.add_argument("--json", action="store_true", help="print the rows as JSON")


class _Usage(Exception):
    pass


def _request(args: argparse.Namespace) -> Any:
    """The validated BacktestRequest and the analyst keys, before Prefect is imported."""
    from pydantic import ValidationError

    from hedgeflow.backtest.models import BacktestRequest, Costs
    from hedgeflow.errors import InvalidRequestError

    tickers = [t.upper() for t in args.tickers]
    if not tickers:
        raise _Usage("at least one ticker is required, e.g. --tickers AAPL,NVDA")
    available: dict[str, tuple[dt.date, dt.date]] | None = None
    if args.data_provider == "offline":
        from hedgeflow.data.catalogue import bundled_ranges

        available = bundled_ranges()
        unknown = [t for t in tickers if t not in available]
        if unknown:
            raise _Usage(f"unknown ticker(s) {', '.join(unknown)}; available: {', '.join(sorted(available))}")
    known = [available[t][1] for t in tickers if t in available] if available else []
    end = args.end or (min(known) if known else None)
    if end is None:
        raise _Usage("--end is required here (or the tickers are unknown: `hedgeflow tickers` lists them)")
    start = args.start or end - dt.timedelta(days=365)
    try:
        request = BacktestRequest(
            tickers=tickers, start=start, end=end, frequency=args.frequency,
            analysts=None if args.analysts == ["all"] else args.analysts, model=args.model, cash=args.cash,
            margin_requirement=args.margin_requirement, benchmark=args.benchmark, data_provider=args.data_provider,
            max_cost_usd=args.max_cost, weight_analysts=args.weight_analysts,
            costs=Costs(commission_per_share=args.commission_per_share, commission_bps=args.commission_bps,
                        slippage_bps=args.slippage_bps),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "request"
        raise _Usage(f"invalid {where}: {first['msg']}") from None
    if available is not None:
        from hedgeflow.backtest.plan import validate_backtest

        try:
            validate_backtest(request, available)
        except InvalidRequestError as exc:
            raise _Usage(str(exc)) from None
    return request


def _estimate(request: Any) -> None:
    """Before a paid model starts: what it may cost, on stderr (offline data only: no network here)."""
    if request.model == "rules" or request.data_provider != "offline":
        return
    from hedgeflow.analysts.registry import resolve_analysts
    from hedgeflow.backtest.plan import history_start, plan_backtest
    from hedgeflow.backtest.report import estimate_line
    from hedgeflow.data.offline import OfflineProvider

    provider = OfflineProvider()
    prices = {t: provider.get_prices(t, history_start(request.start), request.end) for t in request.tickers}
    plan = plan_backtest(request, resolve_analysts(request.analysts), prices)
    print(estimate_line(plan.estimate), file=sys.stderr)


@contextmanager
def _quiet_task_runs() -> Iterator[None]:
    """Thousands of task runs: their per-run INFO lines go neither to the console nor to the API.

    Warnings and errors still do, and so do the flow's own lines (the plan, the estimate).
    """
    import logging

    loggers = [logging.getLogger(name) for name in ("prefect.task_runs", "prefect.task_engine")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _backtest(args: argparse.Namespace) -> int:
    request = _request(args)
    _estimate(request)
    from deployments.cli_analyze import configure_prefect
    from deployments.local_server import resolve_api

    api = resolve_api(lambda line: print(line, file=sys.stderr))
    configure_prefect("normal", ephemeral=api is None)
    from prefect import tags

    from flows.backtest import backtest
    from hedgeflow.backtest.report import render_text

    labels = ["hedgeflow", "backtest", f"model:{request.model.split(':')[0]}", *(f"ticker:{t}" for t in request.tickers)]
    with tags(*labels), _quiet_task_runs():
        result = backtest(
            tickers=request.tickers, start=request.start, end=request.end, frequency=request.frequency,
            analysts=request.analysts, model=request.model, cash=request.cash,
            margin_requirement=request.margin_requirement, commission_per_share=request.costs.commission_per_share,
            commission_bps=request.costs.commission_bps, slippage_bps=request.costs.slippage_bps,
            benchmark=request.benchmark, data_provider=request.data_provider, max_cost_usd=request.max_cost_usd,
            weight_analysts=request.weight_analysts, refresh=args.refresh, output_dir=args.output,
        )
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        from hedgeflow.backtest.storage import backtest_dir

        folder = args.output or str(backtest_dir())
        print(render_text(result, os.path.join(folder, f"{result.run_id}.json")))
    return 0 if result.status != "failed" else 1


def _scorecard(args: argparse.Namespace) -> int:
    from hedgeflow.backtest.report import scorecard_text
    from hedgeflow.backtest.storage import load_result
    from hedgeflow.errors import HedgeflowError

    try:
        result = load_result(args.run)
    except HedgeflowError as exc:
        raise _Usage(str(exc)) from None
    rows = [r for r in result.scorecard if args.horizon is None or r.horizon == args.horizon]
    if args.json:
        from pydantic import TypeAdapter

        from hedgeflow.backtest.models import ScorecardRow

        print(TypeAdapter(list[ScorecardRow]).dump_json(rows, indent=2).decode())  # nan as null
    else:
        req = result.request
        print(f"backtest {result.run_id}: {','.join(req.tickers)} {req.start} to {req.end}, {req.frequency}, {req.model}")
        print(scorecard_text(rows))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run ``hedgeflow backtest`` or ``hedgeflow scorecard``; one line and exit 2 on bad input."""
    try:
        return _backtest(args) if args.command == "backtest" else _scorecard(args)
    except _Usage as exc:
        print(f"hedgeflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
