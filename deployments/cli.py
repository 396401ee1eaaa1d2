"""The ``hedgeflow`` command: the top of the stack, so it may reach every layer (lazily).

Imports are lazy: ``--help``, ``analysts`` and ``tickers`` never load Prefect,
pandas or a model SDK, so they answer at once. Bad input is a one-line error
and exit code 2 before any work starts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hedgeflow.schemas import RunRequest

__all__ = ["main"]

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"malformed date {text!r}; use YYYY-MM-DD") from None


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hedgeflow", description="An open AI hedge fund run as Prefect flows.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    analyze = commands.add_parser("analyze", help="analyse tickers with the committee and decide orders")
    analyze.add_argument("--tickers", type=_list, required=True, help="comma-separated, e.g. AAPL,NVDA")
    analyze.add_argument("--start", type=_date, help="first date of the window (default: three months before end)")
    analyze.add_argument("--end", type=_date, help="as-of date (default: the latest date in the data)")
    analyze.add_argument("--analysts", type=_list, default=["all"], help="all, or comma-separated keys")
    analyze.add_argument("--model", default="rules", help="rules | anthropic:M | openai:M | openai-compatible:M@URL")
    analyze.add_argument("--cash", type=float, default=100_000.0, help="initial cash (default 100000)")
    analyze.add_argument("--margin-requirement", type=float, default=0.5, help="margin for shorts (default 0.5)")
    analyze.add_argument("--data-provider", default="offline", choices=["offline", "financialdatasets"])
    analyze.add_argument("--refresh", action="store_true", help="recompute and rewrite cached results")
    analyze.add_argument("--show-reasoning", action="store_true", help="print each analyst's reasoning")
    analyze.add_argument("--json", action="store_true", help="print the RunResult as JSON and nothing else")

    commands.add_parser("analysts", help="list the analysts")
    commands.add_parser("tickers", help="list the bundled tickers and their date ranges")

    bench = commands.add_parser("bench", help="the A/B benchmark against the fake servers", add_help=False)
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)

    server = commands.add_parser("server", help="the local Prefect server Hedgeflow starts and reuses")
    server.add_argument("action", choices=["status", "start", "stop"])

    history = commands.add_parser("history", help="past runs, their signals and orders")
    history.add_argument("--ticker", help="only runs that analysed this ticker")
    history.add_argument("--limit", type=int, default=10, help="how many runs, newest first (default 10)")
    history.add_argument("--json", action="store_true", help="print the runs as JSON")

    cache = commands.add_parser("cache", help="manage cached data and signals")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    clear = cache_commands.add_parser("clear", help="delete cached results (all, or one ticker's)")
    clear.add_argument("--ticker", help="only this ticker's results")

    from deployments.backtest_cli import add_parsers as add_backtest_parsers

    add_backtest_parsers(commands)
    return parser


def _analysts() -> int:
    from hedgeflow.analysts.registry import CATALOGUE

    width = max(map(len, CATALOGUE))
    for key, description in CATALOGUE.items():
        print(f"{key:<{width}}  {description}")
    return 0


def _tickers() -> int:
    from hedgeflow.data.catalogue import bundled_ranges

    for ticker, (first, last) in bundled_ranges().items():
        note = "  (prices only: benchmark)" if ticker == "SPY" else ""
        print(f"{ticker:<6} {first} to {last}{note}")
    return 0


def _history(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    from hedgeflow.history import history_command

    print(history_command(args.ticker.upper() if args.ticker else None, args.limit, args.json))
    return 0


def _cache(args: argparse.Namespace) -> int:
    from tasks.caching import clear_cache

    removed = clear_cache(args.ticker)
    print(f"removed {removed} cached entries" + (f" for {args.ticker.upper()}" if args.ticker else ""))
    return 0


def _request(args: argparse.Namespace) -> RunRequest:
    """Validate everything a user typed, before Prefect is even imported."""
    from pydantic import ValidationError

    from hedgeflow.errors import InvalidRequestError
    from hedgeflow.schemas import Portfolio, RunRequest

    if not args.tickers:
        raise UsageError("at least one ticker is required, e.g. --tickers AAPL,NVDA")
    try:
        request = RunRequest(
            tickers=args.tickers,
            start=args.start,
            end=args.end,
            analysts=None if args.analysts == ["all"] else args.analysts,
            model=args.model,
            portfolio=Portfolio(cash=args.cash, margin_requirement=args.margin_requirement),
            refresh=args.refresh,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"invalid {where}: {first['msg']}") from None
    if args.data_provider == "offline":
        from hedgeflow.data.catalogue import bundled_ranges
        from hedgeflow.request import validate_request

        try:
            validate_request(request, bundled_ranges())
        except InvalidRequestError as exc:
            raise UsageError(str(exc)) from None
    return request


@contextmanager
def _progress_bar() -> Iterator[None]:
    """On a terminal: a live bar of analysts finishing, and Prefect's console logs only from warnings up."""
    if not sys.stderr.isatty():
        yield
        return
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    from tasks.progress import add_listener, remove_listener

    def draw(done: int, total: int) -> None:
        width = 30
        filled = width * done // max(total, 1)
        end = "\n" if done == total else ""
        print(f"\ranalysts [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True)

    consoles = [h for name in ("prefect", "") for h in logging.getLogger(name).handlers if isinstance(h, PrefectConsoleHandler)]
    levels = [h.level for h in consoles]
    for handler in consoles:
        handler.setLevel(logging.WARNING)
    add_listener(draw)
    try:
        yield
    finally:
        remove_listener(draw)
        for handler, level in zip(consoles, levels):
            handler.setLevel(level)


def _analyze(args: argparse.Namespace) -> int:
    import asyncio

    request = _request(args)
    from hedgeflow.server import resolve_api

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    resolve_api(lambda line: print(line, file=sys.stderr))
    from prefect import tags

    from flows.hedge_fund import hedge_fund
    from hedgeflow.report import render_text

    labels = ["hedgeflow", f"model:{request.model.split(':')[0]}", *(f"ticker:{t}" for t in request.tickers)]
    with _progress_bar(), tags(*labels):
        result = asyncio.run(hedge_fund(
            tickers=request.tickers,
            start=request.start,
            end=request.end,
            analysts=request.analysts,
            model=request.model,
            portfolio=request.portfolio,
            refresh=request.refresh,
            data_provider=args.data_provider,
        ))
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print(render_text(result, show_reasoning=args.show_reasoning))
    return 0 if result.status != "failed" else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.command == "analysts":
            return _analysts()
        if args.command == "tickers":
            return _tickers()
        if args.command == "bench":
            from bench.run import main as bench_main

            return bench_main(args.bench_args)
        if args.command == "server":
            from hedgeflow.server import server_command

            return server_command(args.action)
        if args.command == "history":
            return _history(args)
        if args.command == "cache":
            return _cache(args)
        if args.command in ("backtest", "scorecard"):
            from deployments.backtest_cli import run as run_backtest_command

            return run_backtest_command(args)
        return _analyze(args)
    except UsageError as exc:
        print(f"hedgeflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        gc.freeze()  # nothing left to collect: skip the interpreter's final sweep of a large heap


if __name__ == "__main__":
    sys.exit(main())
