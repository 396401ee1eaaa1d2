"""The ``hedgeflow`` command: the top of the stack, so it may reach every layer (lazily).

Imports are lazy: ``--help``, ``--version``, ``analysts`` and ``tickers`` never
load Prefect, pandas or a model SDK, so they answer at once. Bad input is one
line and exit code 2 before any work starts; a closed pipe ends quietly with
141, Ctrl-C with 130 (as git and Prefect's CLI do).
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from deployments.cli_analyze import StartError, UsageError, quiet_exit
from deployments.cli_args import comma_list, iso_date

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE
STATUSES = ("completed", "degraded", "partial", "failed")
MODEL_HELP = (
    "rules (default) | anthropic:M | openai:M | openai-compatible:M@URL | block:<block-type-slug>/<name>, "
    "e.g. block:hedgeflow-anthropic-model/claude"
)


class _Parser(argparse.ArgumentParser):
    """argparse, but an error is one line (no usage block), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"hedgeflow {version('hedgeflow')}"
    except PackageNotFoundError:
        return "hedgeflow (not installed)"


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hedgeflow", description="An open AI hedge fund run as Prefect flows.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    loudness = _Parser(add_help=False)
    group = loudness.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", help="also print Prefect's task logs")
    group.add_argument("-q", "--quiet", action="store_true", help="print nothing but the result and errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    analyze = commands.add_parser("analyze", parents=[loudness], help="analyse tickers with the committee and decide orders")
    analyze.add_argument("--tickers", type=comma_list, required=True, help="comma-separated, e.g. AAPL,NVDA")
    analyze.add_argument("--start", "--start-date", dest="start", type=iso_date,
                         help="first date of the window (default: three months before end)")
    analyze.add_argument("--end", "--end-date", dest="end", type=iso_date,
                         help="as-of date (default: the latest date in the data; live: the last completed session)")
    analyze.add_argument("--analysts", type=comma_list, default=["all"], help="all, or comma-separated keys (any case)")
    analyze.add_argument("--model", default="rules", help=MODEL_HELP)
    analyze.add_argument("--cash", "--initial-cash", dest="cash", type=float, default=100_000.0,
                         help="initial cash (default 100000)")
    analyze.add_argument("--margin-requirement", type=float, default=0.5, help="margin for shorts (default 0.5)")
    analyze.add_argument("--data-provider", default="offline", choices=["offline", "live", "financialdatasets"])
    analyze.add_argument("--refresh", action="store_true", help="recompute and rewrite cached results")
    analyze.add_argument("--show-reasoning", action="store_true", help="print each analyst's reasoning")
    analyze.add_argument("--json", action="store_true", help="print the RunResult as JSON and nothing else")

    commands.add_parser("analysts", help="list the analysts")
    tickers = commands.add_parser("tickers", help="list the bundled tickers and their date ranges, or find live ones")
    tickers.add_argument("--data-provider", default="offline", choices=["offline", "live"])
    tickers.add_argument("--search", help="only tickers whose symbol or company name contains this")
    commands.add_parser("bench", help="the A/B benchmark against the fake servers (bench -h for options)", add_help=False)

    server = commands.add_parser("server", help="the local Prefect server Hedgeflow starts and reuses")
    server.add_argument("action", choices=["status", "start", "stop"])

    history = commands.add_parser("history", help="past runs, their signals and orders")
    history.add_argument("--run", metavar="ID", help="one run in full (an id, or the start of one)")
    history.add_argument("--ticker", help="only runs that analysed this ticker")
    history.add_argument("--status", type=str.lower, choices=STATUSES, help="only runs that ended so")
    history.add_argument("--limit", type=int, default=10, help="how many runs, newest first (default 10)")
    history.add_argument("--json", action="store_true", help="print the runs as JSON")
    history.add_argument("--replay", action="store_true",
                         help="write the runs kept as JSON while the database was away, then list")

    cache = commands.add_parser("cache", help="manage cached data and signals")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True, metavar="ACTION")
    clear = cache_commands.add_parser("clear", help="delete cached results (all, or one ticker's)")
    clear.add_argument("--ticker", help="only this ticker's results")

    from deployments.backtest_cli import add_parsers as add_backtest_parsers

    add_backtest_parsers(commands)
    from deployments.stats_cli import add_parser as add_stats_parser

    add_stats_parser(commands)
    from deployments.worker_cli import add_parser as add_worker_parser

    add_worker_parser(commands)
    return parser


def _analysts() -> int:
    from hedgeflow.analysts.registry import CATALOGUE

    width = max(map(len, CATALOGUE))
    for key, description in CATALOGUE.items():
        print(f"{key:<{width}}  {description}")
    return 0


def _tickers(args: argparse.Namespace) -> int:
    from hedgeflow.data.catalogue import bundled_ranges
    from hedgeflow.errors import DataError
    from hedgeflow.request import PRICES_ONLY

    if args.data_provider == "live":
        from deployments.cli_analyze import live_provider

        provider = live_provider()
        try:
            found = provider.search(args.search) if args.search else list(provider.companies().values())
        except DataError as exc:
            raise UsageError(str(exc)) from None
        for company in found:
            print(f"{company.ticker:<8} CIK {company.cik:<10} {company.title}")
        return 0 if found else 1
    for ticker, (first, last) in bundled_ranges().items():
        if args.search and args.search.strip().upper() not in ticker:
            continue
        note = "  (prices only: benchmark, not analysed)" if ticker in PRICES_ONLY else ""
        print(f"{ticker:<6} {first} to {last}{note}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from deployments.history_view import history_command, run_command
    from hedgeflow.history import AmbiguousRunError

    if args.replay:
        from deployments.history_view import replay_command

        line, replayed = replay_command()
        print(line, file=sys.stderr)
        if not replayed:
            from hedgeflow.results import EXIT_NOT_PERSISTED

            return EXIT_NOT_PERSISTED
    if args.run is not None:
        try:
            text = run_command(args.run, args.json)
        except AmbiguousRunError as exc:
            raise UsageError(str(exc)) from None
        if text is None:
            raise UsageError(f"no run with id {args.run!r}; `hedgeflow history` lists them")
        print(text, end="" if text.endswith("\n") else "\n")
        return 0
    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    ticker = args.ticker.strip().upper() if args.ticker else None
    print(history_command(ticker, args.limit, args.json, status=args.status), end="")
    if args.json:
        print()
    return 0


def _cache(args: argparse.Namespace) -> int:
    from hedgeflow.data.catalogue import bundled_ranges
    from tasks.caching import clear_cache

    ticker = args.ticker.strip().upper() if args.ticker else None
    removed = clear_cache(ticker)
    if ticker and removed == 0 and ticker not in bundled_ranges():
        raise UsageError(f"no cached results for {ticker}, which is not a bundled ticker; `hedgeflow tickers` lists them")
    print(f"removed {removed} cached entries" + (f" for {ticker}" if ticker else ""))
    return 0


def _bench(argv: list[str]) -> int:
    from bench.run import main as bench_main

    try:
        return bench_main(argv, prog="hedgeflow bench")
    except SystemExit as exc:  # -h, or a bad option (one line, exit 2)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE


def _say(quiet: bool) -> Callable[[str], None]:
    def note(line: str) -> None:
        if not quiet:
            print(line if line.startswith("hedgeflow") else f"hedgeflow: {line}", file=sys.stderr, flush=True)

    return note


def _run(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if args.version:
        print(_version())
        return 0
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    if args.command == "bench":
        return _bench(extra)
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command == "analysts":
            return _analysts()
        if args.command == "tickers":
            return _tickers(args)
        if args.command == "server":
            from deployments.local_server import server_command

            return server_command(args.action)
        if args.command == "history":
            return _history(args)
        if args.command == "cache":
            return _cache(args)
        if args.command in ("backtest", "scorecard"):
            from deployments.backtest_cli import run as run_backtest_command

            return run_backtest_command(args)
        if args.command == "stats":
            from deployments.stats_cli import run as run_stats_command

            return run_stats_command(args)
        if args.command == "worker":
            from deployments.worker_cli import run as run_worker_command

            return run_worker_command(args)
        from deployments.cli_analyze import analyze

        verbosity = "quiet" if args.quiet else "verbose" if args.verbose else "normal"
        return analyze(args, _say(args.quiet), verbosity)
    except UsageError as exc:
        quiet_exit()  # a block check may have queued an event: send it now, silently
        print(f"hedgeflow: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StartError as exc:
        print(f"hedgeflow: error: {exc}", file=sys.stderr)
        return 1


def _interrupted(signum: int, frame: object) -> NoReturn:
    """Ctrl-C: silence every logger, so nothing unwinding prints a traceback or a crash report, and
    stop the model calls in flight, so the task runner's threads end now rather than at a model's timeout."""
    import logging

    logging.disable(logging.CRITICAL)
    aio = sys.modules.get("hedgeflow.llm.aio")  # not imported: no model call was made
    if aio is not None:
        aio.stop()
    raise KeyboardInterrupt


def _quiet_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the interpreter's final flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    installed = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if installed:
        signal.signal(signal.SIGINT, _interrupted)
    try:
        return _run(argv)
    except SystemExit as exc:  # argparse: --help (0) or a one-line error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("hedgeflow: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        if installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        gc.freeze()  # nothing left to collect: skip the interpreter's final sweep of a large heap


if __name__ == "__main__":
    sys.exit(main())
