"""Checking a RunRequest against what the data provider has, before any work starts.

Rules for the window (the CLI and the flows share them):

* ``end`` defaults to the latest date every ticker has; an end outside a
  ticker's data is refused.
* a ``start`` before a ticker's data begins is refused (it would silently
  become the first date, and the run would not be the one asked for).
* a window on a weekend is accepted with a notice: the analysis is as of the
  last session on or before ``end``; a window holding no weekday is refused.
* prices-only tickers (SPY, the benchmark) are refused: no analyst can judge
  them and the portfolio manager must not trade them.
"""

from __future__ import annotations

import datetime as dt
import os

from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.errors import InvalidRequestError
from hedgeflow.schemas import RunRequest
from hedgeflow.urls import check_base_url

__all__ = [
    "DATA_KEY_ENV",
    "DATA_URL_ENV",
    "DEFAULT_WINDOW_DAYS",
    "PRICES_ONLY",
    "analyst_keys",
    "check_credentials",
    "resolve_window",
    "validate_request",
    "window_notices",
]

DEFAULT_WINDOW_DAYS = 91  # three months up to the as-of date
PRICES_ONLY = frozenset({"SPY"})  # benchmarks: prices, no company facts
DATA_KEY_ENV = {"financialdatasets": "FINANCIAL_DATASETS_API_KEY"}
DATA_URL_ENV = "FINANCIAL_DATASETS_BASE_URL"
SATURDAY = 5


def analyst_keys(raw: list[str]) -> list[str] | None:
    """Analyst names as typed: case-insensitive; ``all`` anywhere means the whole committee (None).
    A list naming nobody (``--analysts ,``) is refused, not read as everyone."""
    keys = [key.strip().lower() for key in raw if key.strip()]
    if not keys:
        raise InvalidRequestError("--analysts names no analyst: use all, or comma-separated keys (hedgeflow analysts lists them)")
    return None if "all" in keys else list(dict.fromkeys(keys))


def resolve_window(
    request: RunRequest, available: dict[str, tuple[dt.date, dt.date]]
) -> tuple[dt.date, dt.date]:
    """The (start, end) window: end defaults to the latest date every ticker has; start to three
    months before end, but not before the data begins (a start the user gave is kept as given)."""
    end = request.end or min(available[t][1] for t in request.tickers)
    if request.start is not None:
        return request.start, end
    first = max((available[t][0] for t in request.tickers if t in available), default=dt.date.min)
    return max(end - dt.timedelta(days=DEFAULT_WINDOW_DAYS), min(first, end)), end


def validate_request(
    request: RunRequest, available: dict[str, tuple[dt.date, dt.date]]
) -> tuple[dt.date, dt.date]:
    """Raise InvalidRequestError naming what is available; return the resolved window."""
    unknown = [t for t in request.tickers if t not in available]
    if unknown:
        listing = ", ".join(sorted(available)) if len(available) <= 50 else f"{len(available)} tickers"
        raise InvalidRequestError(f"unknown ticker(s) {', '.join(unknown)}; available: {listing}")
    benchmarks = [t for t in request.tickers if t in PRICES_ONLY]
    if benchmarks:
        companies = sorted(set(available) - PRICES_ONLY)
        listing = f": {', '.join(companies)}" if len(companies) <= 50 else ""
        raise InvalidRequestError(
            f"{', '.join(benchmarks)} has prices only (a benchmark): no analyst can judge it and it is "
            f"never traded; analyse companies{listing}"
        )
    resolve_analysts(request.analysts)
    if not request.model.startswith("block:"):
        from hedgeflow.llm import parse_model

        parse_model(request.model)
    elif "/" not in request.model.removeprefix("block:").strip("/"):
        raise InvalidRequestError(
            f"bad model spec {request.model!r}: use block:<block-type-slug>/<name>, "
            "e.g. block:hedgeflow-anthropic-model/claude"
        )
    if request.start and request.end and request.start > request.end:
        raise InvalidRequestError(f"start {request.start} is after end {request.end}")
    start, end = resolve_window(request, available)
    for ticker in request.tickers:
        first, last = available[ticker]
        if not first <= end <= last:
            raise InvalidRequestError(
                f"end date {end} is outside the data for {ticker}: {first} to {last}"
            )
        if start < first:
            raise InvalidRequestError(
                f"start date {start} is before the data for {ticker} begins ({first}); use --start {first} or later"
            )
    if start > end:
        raise InvalidRequestError(f"start {start} is after end {end}")
    if (end - start).days < 2 and all(day.weekday() >= SATURDAY for day in _days(start, end)):
        raise InvalidRequestError(f"the window {start} to {end} is a weekend: no trading day in it")
    return start, end


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _last_weekday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=max(0, day.weekday() - 4))


def window_notices(start: dt.date | None, end: dt.date) -> list[str]:
    """One line per thing about an accepted window the user should know: an end, or a start the
    user gave (None: the default), on a weekend."""
    notices = []
    if end.weekday() >= SATURDAY:
        notices.append(
            f"end {end} is a {end:%A}, not a trading day: the analysis is as of {_last_weekday(end)}, the session before"
        )
    if start is not None and start.weekday() >= SATURDAY and start != end:
        monday = start + dt.timedelta(days=7 - start.weekday())
        notices.append(f"start {start} is a {start:%A}: the window's first session is {monday} at the earliest")
    return notices


def check_credentials(model: str, data_provider: str, environ: dict[str, str] | None = None) -> None:
    """Refuse, in one line naming the variable, a model or data provider whose key is missing.

    The model check builds the model's client (cached for the run, so no work
    is lost); ``block:`` models are checked where blocks can be loaded.
    """
    env = os.environ if environ is None else environ
    if data_provider == "financialdatasets" and (env.get(DATA_URL_ENV) or "").strip():
        check_base_url(env[DATA_URL_ENV], DATA_URL_ENV)
    key = DATA_KEY_ENV.get(data_provider)
    if key and not (env.get(key) or "").strip():
        raise InvalidRequestError(
            f"--data-provider {data_provider} needs {key}: set it, or use --data-provider offline"
        )
    if model == "rules" or model.startswith("block:"):
        return
    from hedgeflow.llm import make_client, parse_model

    make_client(parse_model(model))  # ModelAuthError names the key when it is missing
