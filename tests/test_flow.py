"""The hedge_fund flow end to end, offline, under a Prefect test server."""

from __future__ import annotations

import datetime as dt

import pytest

from hedgeflow.analysts.registry import CATALOGUE
from hedgeflow.schemas import Portfolio, Position, RunResult
from tests.flowkit import run_flow

END = dt.date(2025, 10, 8)


def test_committee_covers_every_pair_and_both_tickers(cold_cache: None) -> None:
    from flows.hedge_fund import hedge_fund

    result: RunResult = run_flow(hedge_fund, tickers=["AAPL", "NVDA"], end=END)
    pairs = {(s.analyst, s.ticker) for s in result.signals}
    assert pairs == {(a, t) for a in CATALOGUE for t in ("AAPL", "NVDA")}
    assert {o.ticker for o in result.orders} == {"AAPL", "NVDA"}
    assert result.status == "completed" and not result.errors
    assert result.start == END - dt.timedelta(days=91) and result.end == END
    assert all(0 <= s.confidence <= 100 and s.source == "rules" for s in result.signals)
    limits = {lim.ticker: lim for lim in result.limits}
    for order in result.orders:
        if order.action == "buy":
            assert order.quantity * limits[order.ticker].price <= limits[order.ticker].limit_value + 1e-6


def test_orders_respect_an_existing_portfolio(cold_cache: None) -> None:
    from flows.hedge_fund import hedge_fund

    portfolio = Portfolio(cash=0, positions={"TSLA": Position(long=10)})
    result = run_flow(hedge_fund, tickers=["TSLA"], end=END, analysts=["technicals", "valuation"], portfolio=portfolio)
    (order,) = result.orders
    assert order.action in {"sell", "hold"}
    assert order.quantity <= 10


def test_artifacts_are_published(cold_cache: None) -> None:
    from prefect import get_client

    from flows.hedge_fund import hedge_fund

    result = run_flow(hedge_fund, tickers=["V"], end=END, analysts=["fundamentals"])

    async def artifacts() -> set[str]:
        from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[result.run_id]))
            )
        return {a.key for a in found if a.key}

    import asyncio

    assert {"signals", "orders"} <= asyncio.run(artifacts())


def test_a_ticker_outside_the_data_is_refused_before_work(cold_cache: None) -> None:
    from prefect.exceptions import ParameterTypeError

    from flows.hedge_fund import hedge_fund

    with pytest.raises(ParameterTypeError, match="outside the data"):
        run_flow(hedge_fund, tickers=["AAPL"], end=dt.date(2030, 1, 1))


def test_all_seven_companies_give_133_signals(cold_cache: None) -> None:
    from flows.hedge_fund import hedge_fund

    tickers = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]
    result = run_flow(hedge_fund, tickers=tickers, end=END, persist=False)
    assert len(result.signals) == 133 and not result.errors
    assert {o.ticker for o in result.orders} == set(tickers)
