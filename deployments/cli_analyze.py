"""``hedgeflow analyze``: validate everything first, then run the hedge_fund flow and show it.

Order of work: the request and the credentials it needs are checked without
Prefect (one line, exit 2); then the Prefect API is chosen (the local server,
perhaps started now); then a ``block:`` model is loaded and checked; only then
does the flow run. Prefect's console logs are quiet unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import math
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hedgeflow.data.live import LiveProvider
    from hedgeflow.schemas import RunRequest, RunResult

__all__ = ["StartError", "UsageError", "analyze", "build_request", "configure_prefect", "live_provider", "quiet_exit"]

Note = Callable[[str], None]
EPHEMERAL_START_S = 90
EPHEMERAL_TIMEOUT = "Timed out while attempting to connect to ephemeral Prefect API server"


class UsageError(Exception):
    """Bad input or misconfiguration: printed as one line, exit code 2."""


def build_request(args: argparse.Namespace, note: Note) -> RunRequest:
    """Validate everything a user typed, before Prefect is even imported; notices go to ``note``."""
    from pydantic import ValidationError

    from hedgeflow.errors import HedgeflowError
    from hedgeflow.request import analyst_keys, check_credentials, validate_request, window_notices
    from hedgeflow.schemas import Portfolio, RunRequest

    if not args.tickers:
        raise UsageError("at least one ticker is required, e.g. --tickers AAPL,NVDA")
    for flag, value in (("--cash", args.cash), ("--margin-requirement", args.margin_requirement)):
        if not math.isfinite(value):
            raise UsageError(f"{flag} {value} is not a finite number; give an amount, e.g. {flag} 100000")
    try:
        analysts = analyst_keys(args.analysts)
    except HedgeflowError as exc:
        raise UsageError(str(exc)) from None
    try:
        request = RunRequest(
            tickers=args.tickers,
            start=args.start,
            end=args.end,
            analysts=analysts,
            model=args.model.strip(),
            portfolio=Portfolio(cash=args.cash, margin_requirement=args.margin_requirement),
            refresh=args.refresh,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise UsageError(f"invalid {where}: {first['msg']}") from None
    try:
        check_credentials(request.model, args.data_provider)
        if args.data_provider == "offline":
            from hedgeflow.data.catalogue import bundled_ranges

            _start, end = validate_request(request, bundled_ranges())
            for line in window_notices(request.start, end):
                note(line)
        elif args.data_provider == "financialdatasets":
            from hedgeflow.data.financialdatasets import FinancialDatasetsProvider

            validate_request(request, FinancialDatasetsProvider().tickers())
    except HedgeflowError as exc:
        raise UsageError(str(exc)) from None
    if args.data_provider == "live":
        request = _live_request(request)
    try:
        from deployments.local_server import configured_port

        configured_port()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return request


def live_provider() -> LiveProvider:
    """The live provider for the command line (settings from the environment), or a one-line UsageError."""
    from hedgeflow.data.live import LiveProvider, LiveSettings, UserAgentError

    try:
        return LiveProvider(LiveSettings.from_env())
    except UserAgentError as exc:
        raise UsageError(str(exc)) from None


def _live_request(request: RunRequest) -> RunRequest:
    """Tickers checked against SEC's list (kept on disk for a day); the as-of date defaults to the last session."""
    from hedgeflow.errors import DataError, InvalidRequestError
    from hedgeflow.request import validate_request

    provider = live_provider()
    try:
        available = provider.tickers()
    except DataError as exc:
        raise UsageError(str(exc)) from None
    unknown = [t for t in request.tickers if t not in available]
    if unknown:
        raise UsageError(f"SEC lists no ticker {', '.join(unknown)}; find one with: "
                         f"hedgeflow tickers --data-provider live --search NAME")
    try:
        _, end = validate_request(request, available)
    except InvalidRequestError as exc:
        raise UsageError(str(exc)) from None
    return request.model_copy(update={"end": end})


def configure_prefect(verbosity: str, ephemeral: bool) -> None:
    """Before Prefect is imported: no telemetry, console logs by verbosity; after: the same on live handlers.

    ``quiet`` shows errors only, ``normal`` warnings and errors, ``verbose``
    every task log. The temporary server of ephemeral mode logs nothing below
    CRITICAL (it is thrown away at exit, and its shutdown races are noise).
    """
    level = {"quiet": "ERROR", "normal": "WARNING", "verbose": "INFO"}[verbosity]
    os.environ.setdefault("DO_NOT_TRACK", "1")  # Prefect's SDK telemetry, and its first-run notice
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = level
    if verbosity != "verbose":
        for worker in ("EventsWorker", "APILogWorker"):  # "Still processing items" while draining at exit
            logging.getLogger(worker).setLevel(logging.ERROR)
    if ephemeral:  # Prefect's 20 s is often too little for a first start on a busy 2-core machine
        os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", str(EPHEMERAL_START_S))
    if ephemeral and verbosity != "verbose":
        os.environ["PREFECT_SERVER_LOGGING_LEVEL"] = "CRITICAL"
    if "prefect" in sys.modules:  # imported already (tests calling main() in one process)
        from prefect.logging.handlers import PrefectConsoleHandler

        for name in ("", "prefect"):
            for handler in logging.getLogger(name).handlers:
                if isinstance(handler, PrefectConsoleHandler):
                    handler.setLevel(level)


def _check_block(spec: str) -> None:
    """A ``block:<type-slug>/<name>`` model must exist and build a client (its key set)."""
    import asyncio

    from prefect.blocks.core import Block

    import blocks.models  # noqa: F401 - registers the model block classes, so a saved one loads as itself
    from hedgeflow.errors import HedgeflowError

    slug_name = spec.removeprefix("block:")
    try:
        block = asyncio.run(Block.aload(slug_name))
    except (ValueError, KeyError) as exc:
        raise UsageError(
            f"no model block {slug_name!r} ({str(exc).splitlines()[0]}); "
            "create it in the Prefect UI (Blocks) or list them with `prefect block ls`"
        ) from None
    make_client = getattr(block, "client", None)
    if not callable(make_client):
        raise UsageError(f"block {slug_name!r} is not a model block; use a Hedgeflow Anthropic or OpenAI Model block")
    try:
        make_client()
    except HedgeflowError as exc:
        raise UsageError(f"model block {slug_name!r}: {exc}") from None


def quiet_exit() -> None:
    """Send what Prefect still holds (events, logs) now, while its API is up, so exit says nothing."""
    if "prefect" not in sys.modules:
        return
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(Exception):
        EventsWorker.drain_all(timeout=10)
    with contextlib.suppress(Exception):
        APILogWorker.drain_all(timeout=10)


class StartError(Exception):
    """The Prefect API could not be reached or started: one line, exit 1."""


@contextlib.contextmanager
def _ephemeral_start_failure() -> Iterator[None]:
    """Prefect's temporary server that never came up is one line naming the fixes, not a traceback."""
    try:
        yield
    except RuntimeError as exc:
        if EPHEMERAL_TIMEOUT not in str(exc):
            raise
        from deployments.server_process import stop_ephemeral_servers

        stop_ephemeral_servers()  # Prefect leaves it running, holding our stderr open after we exit
        timeout = os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", EPHEMERAL_START_S)
        raise StartError(
            f"Prefect's temporary server did not start within {timeout} s (a busy machine?): start one with "
            "`hedgeflow server start`, set PREFECT_API_URL, or raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
        ) from None


def analyze(args: argparse.Namespace, note: Note, verbosity: str) -> int:
    import asyncio

    from deployments.cli_render import is_terminal, live_progress, print_result
    from deployments.local_server import mark_crashed_runs, owner_tag, resolve_api, ui_url

    request = build_request(args, note)
    api = resolve_api(note)
    configure_prefect(verbosity, ephemeral=api is None)
    show_links = api is not None and verbosity != "quiet" and is_terminal(sys.stderr)
    if show_links:
        note(f"Prefect UI: {ui_url(api)}")  # type: ignore[arg-type]
    if request.model.startswith("block:"):
        _check_block(request.model)

    from prefect import tags

    from flows.hedge_fund import hedge_fund
    from hedgeflow.analysts.registry import resolve_analysts

    # What is imported now lives until exit: collections during the run need not walk it, and they come
    # less often (the run allocates many short-lived objects; measured in docs/startup.md).
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    labels = ["hedgeflow", f"model:{request.model.split(':')[0]}", *(f"ticker:{t}" for t in request.tickers),
              owner_tag()]
    for run_id in mark_crashed_runs():  # left RUNNING by a process that died (kill -9)
        note(f"flow run {run_id} was left running by a process that is gone: marked Crashed")
    count = len(resolve_analysts(request.analysts))
    progress = contextlib.nullcontext() if args.json else live_progress(request.tickers, count)
    from deployments.cli_render import collapse_repeats

    with collapse_repeats(), progress, tags(*labels), _ephemeral_start_failure():
        result = asyncio.run(hedge_fund(
            tickers=request.tickers,
            start=request.start,
            end=request.end,
            analysts=request.analysts,  # type: ignore[arg-type]  # names checked by build_request
            model=request.model,
            portfolio=request.portfolio,
            refresh=request.refresh,
            data_provider=args.data_provider,
        ))
    quiet_exit()
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        print_result(result, show_reasoning=args.show_reasoning)
    if show_links:
        note(f"flow run: {ui_url(api)}/runs/flow-run/{result.run_id}")  # type: ignore[arg-type]
    if result.persist_error:
        print(f"hedgeflow: error: run not saved to the database ({result.persist_error}); kept in "
              f"{result.saved_to}: `hedgeflow history --replay` writes it", file=sys.stderr)
    from hedgeflow.results import exit_code

    code = exit_code(result)
    if code == 0 and _key_refused(result):
        return 1  # the model asked for was never reached: said once in the run's log
    return code


def _key_refused(result: RunResult) -> bool:
    """Whether a provider refused the API key in this run (every later call took the rules fallback)."""
    from hedgeflow.llm import AUTH_REFUSED

    return any(AUTH_REFUSED in (s.degraded_reason or "") for s in result.signals)

