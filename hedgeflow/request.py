"""Checking a RunRequest against what the data provider has, before any work starts."""

from __future__ import annotations

import datetime as dt

from hedgeflow.analysts.registry import resolve_analysts
from hedgeflow.errors import InvalidRequestError
from hedgeflow.schemas import RunRequest

__all__ = ["DEFAULT_WINDOW_DAYS", "resolve_window", "validate_request"]

DEFAULT_WINDOW_DAYS = 91  # three months up to the as-of date


def resolve_window(
    request: RunRequest, available: dict[str, tuple[dt.date, dt.date]]
) -> tuple[dt.date, dt.date]:
    """The (start, end) window: end defaults to the latest date every ticker has."""
    end = request.end or min(available[t][1] for t in request.tickers)
    start = request.start or end - dt.timedelta(days=DEFAULT_WINDOW_DAYS)
    return start, end


def validate_request(
    request: RunRequest, available: dict[str, tuple[dt.date, dt.date]]
) -> tuple[dt.date, dt.date]:
    """Raise InvalidRequestError naming what is available; return the resolved window."""
    unknown = [t for t in request.tickers if t not in available]
    if unknown:
        listing = ", ".join(sorted(available)) if len(available) <= 50 else f"{len(available)} tickers"
        raise InvalidRequestError(f"unknown ticker(s) {', '.join(unknown)}; available: {listing}")
    resolve_analysts(request.analysts)
    if not request.model.startswith("block:"):
        from hedgeflow.llm import parse_model

        parse_model(request.model)
    if request.start and request.end and request.start > request.end:
        raise InvalidRequestError(f"start {request.start} is after end {request.end}")
    start, end = resolve_window(request, available)
    for ticker in request.tickers:
        first, last = available[ticker]
        if not first <= end <= last:
            raise InvalidRequestError(
                f"end date {end} is outside the data for {ticker}: {first} to {last}"
            )
    if start > end:
        raise InvalidRequestError(f"start {start} is after end {end}")
    return start, end
