"""A fake financialdatasets.ai server over the bundled data.

Same paths, query parameters, envelopes (``{"prices": [...], "next_page_url": ...}``,
``{"financial_metrics": [...]}``, ``{"search_results": [...]}``, ...) and
X-API-KEY header as the real API, answered by the OfflineProvider, so a live
provider pointed here must produce the offline snapshots. Insider trades and
news are empty lists: the bundle has none and the fake invents nothing.

    python -m bench.fake_data --port 8102 --latency 0.2 --fault-rate 0.1
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bench import FakeState, add_admin_routes, run_cli
from hedgeflow.data import DataProvider
from hedgeflow.errors import DataUnavailableError
from hedgeflow.schemas import LINE_ITEM_FIELDS, Period

__all__ = ["create_app"]

ERRORS = {
    "rate_limit": (429, "Too Many Requests", "Rate limit exceeded. Please retry later."),
    "server_error": (500, "Internal Server Error", "An unexpected error occurred."),
    "overloaded": (503, "Service Unavailable", "The service is temporarily unavailable."),
}


def _offline() -> DataProvider:
    from hedgeflow.data.offline import OfflineProvider

    return OfflineProvider()


def create_app(
    *,
    latency: float = 0.0,
    jitter: float = 0.0,
    fault_rate: float = 0.0,
    faults: Mapping[str, float] | None = None,
    seed: int | None = 0,
    hang_s: float = 90.0,
    retry_after_s: float = 1.0,
    api_key: str | None = None,
    page_size: int = 1000,
    provider: Callable[[], DataProvider] = _offline,
) -> FastAPI:
    """The fake data app. ``api_key`` None accepts any non-empty X-API-KEY."""
    app = FastAPI(title="fake financialdatasets.ai")
    state = FakeState(latency=latency, jitter=jitter, fault_rate=fault_rate, faults=faults, seed=seed,
                      hang_s=hang_s, retry_after_s=retry_after_s)
    app.state.fake = state
    data = provider()
    add_admin_routes(app, state)

    def error(path: str, status: int, name: str, message: str, headers: dict[str, str] | None = None) -> Response:
        state.record(path, status)
        return JSONResponse({"error": name, "message": message}, status_code=status, headers=headers)

    async def gate(request: Request) -> Response | None:
        path = request.url.path
        key = request.headers.get("x-api-key", "")
        if not key or (api_key is not None and key != api_key) or state.status in (401, 403):
            return error(path, 401, "Unauthorized", "Invalid or missing API key.")
        if state.outage or state.status is not None:
            status = state.status or 500
            return error(path, status, "Error", "The service is unavailable.")
        await state.delay()
        fault = state.next_fault()
        if fault in ERRORS:
            status, name, message = ERRORS[fault]
            headers = {"retry-after": f"{state.retry_after_s:g}"} if status == 429 else None
            return error(path, status, name, message, headers)
        if fault == "timeout":
            deadline = time.monotonic() + state.hang_s
            while time.monotonic() < deadline and not await request.is_disconnected():
                await asyncio.sleep(0.05)
        return None

    def answer(request: Request, body: dict[str, Any]) -> Response:
        state.record(request.url.path, 200, rows=sum(len(v) for v in body.values() if isinstance(v, list)))
        return JSONResponse(body)

    def unavailable(request: Request, exc: Exception) -> Response:
        return error(request.url.path, 404, "Not Found", str(exc))

    @app.get("/prices/")
    async def prices(request: Request, ticker: str, start_date: dt.date, end_date: dt.date,
                     interval: str = "day", interval_multiplier: int = 1, cursor: int = 0) -> Response:
        if (early := await gate(request)) is not None:
            return early
        if interval != "day" or interval_multiplier != 1:
            return error(request.url.path, 400, "Bad Request", "the fake serves daily bars only")
        try:
            bars = data.get_prices(ticker, start_date, end_date)
        except DataUnavailableError as exc:
            return unavailable(request, exc)
        page = bars[cursor : cursor + page_size]
        next_url = None
        if cursor + page_size < len(bars):
            query = dict(request.query_params) | {"cursor": str(cursor + page_size)}
            next_url = f"{str(request.base_url).rstrip('/')}/prices/?{urlencode(query)}"
        return answer(request, {"ticker": ticker.upper(), "prices": [p.model_dump() for p in page],
                                "next_page_url": next_url})

    @app.get("/prices/tickers/")
    async def price_tickers(request: Request) -> Response:
        if (early := await gate(request)) is not None:
            return early
        return answer(request, {"tickers": sorted(data.tickers())})

    @app.get("/financial-metrics/")
    async def financial_metrics(request: Request, ticker: str, report_period_lte: dt.date,
                                period: Period = "ttm", limit: int = 10) -> Response:
        if (early := await gate(request)) is not None:
            return early
        try:
            rows = data.get_financial_metrics(ticker, report_period_lte, period, limit)
        except DataUnavailableError as exc:
            return unavailable(request, exc)
        return answer(request, {"financial_metrics": [m.model_dump() for m in rows]})

    @app.post("/financials/search/line-items")
    async def line_items(request: Request, body: dict[str, Any] = Body(...)) -> Response:  # noqa: B008
        if (early := await gate(request)) is not None:
            return early
        end_text = body.get("report_period_lte") or body.get("end_date")
        if not body.get("tickers") or not end_text:
            return error(request.url.path, 400, "Bad Request", "tickers and report_period_lte are required")
        wanted = [f for f in body.get("line_items", LINE_ITEM_FIELDS) if f in LINE_ITEM_FIELDS]
        results: list[dict[str, Any]] = []
        try:
            for ticker in body["tickers"]:
                for item in data.get_line_items(ticker, dt.date.fromisoformat(str(end_text)),
                                                body.get("period", "ttm"), int(body.get("limit", 10))):
                    row = item.model_dump()
                    keep = {"ticker", "report_period", "period", "currency", *wanted}
                    results.append({k: v for k, v in row.items() if k in keep})
        except DataUnavailableError as exc:
            return unavailable(request, exc)
        return answer(request, {"search_results": results})

    @app.get("/insider-trades/")
    async def insider_trades(request: Request, ticker: str, filing_date_lte: dt.date,
                             filing_date_gte: dt.date | None = None, limit: int = 1000) -> Response:
        if (early := await gate(request)) is not None:
            return early
        try:
            data.get_prices(ticker, filing_date_lte, filing_date_lte)  # 404 for an unknown ticker
        except DataUnavailableError as exc:
            return unavailable(request, exc)
        return answer(request, {"insider_trades": []})

    @app.get("/news/")
    async def news(request: Request, ticker: str, end_date: dt.date, start_date: dt.date | None = None,
                   limit: int = 1000) -> Response:
        if (early := await gate(request)) is not None:
            return early
        try:
            data.get_prices(ticker, end_date, end_date)
        except DataUnavailableError as exc:
            return unavailable(request, exc)
        return answer(request, {"news": []})

    @app.get("/company/facts/")
    async def company_facts(request: Request, ticker: str) -> Response:
        if (early := await gate(request)) is not None:
            return early
        ranges = data.tickers()
        symbol = ticker.upper()
        if symbol not in ranges:
            return unavailable(request, DataUnavailableError(f"no company facts for {ticker!r}"))
        market_cap = data.get_market_cap(symbol, ranges[symbol][1])
        return answer(request, {"company_facts": {"ticker": symbol, "name": symbol, "market_cap": market_cap}})

    return app


if __name__ == "__main__":
    run_cli(create_app, "Fake financialdatasets.ai server over the bundled data.")
