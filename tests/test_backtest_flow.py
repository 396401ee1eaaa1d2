"""The backtest flow end to end, offline, under a Prefect test server."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from hedgeflow.analysts.registry import load_analyst
from hedgeflow.backtest import BacktestResult
from hedgeflow.backtest.plan import analysis_window
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from tests.fakes import FakeServer, fake_model, fake_model_server  # noqa: F401 - fixtures
from tests.test_backtest_lookahead import Truncated

TICKERS = ["AAPL", "NVDA"]
FEW = ["technicals", "valuation"]
START, END = dt.date(2024, 1, 1), dt.date(2024, 5, 31)
WINDOW = {"start": START, "end": END}


def _artifact_keys(run_id: str) -> set[str]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read() -> set[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
        return {a.key for a in found if a.key}

    return asyncio.run(read())


def test_a_backtest_trades_at_next_opens_sees_nothing_later_and_is_recorded(cold_cache: None, tmp_path: Path) -> None:
    from flows.backtest import backtest

    result: BacktestResult = backtest(tickers=TICKERS, analysts=FEW, commission_bps=1.0, slippage_bps=5.0,
                                      output_dir=str(tmp_path), **WINDOW)
    assert result.status == "completed" and not result.errors
    # the first session of each month, Jan to May 2024
    assert result.rebalance_dates == [dt.date(2024, 1, 2), dt.date(2024, 2, 1), dt.date(2024, 3, 1),
                                      dt.date(2024, 4, 1), dt.date(2024, 5, 1)]
    offline = OfflineProvider()
    bars = {t: {b.time: b for b in offline.get_prices(t, WINDOW["start"], WINDOW["end"])} for t in TICKERS}
    sessions = sorted(bars["AAPL"])
    assert [p.date.isoformat() for p in result.equity_curve] == sessions
    for point in result.equity_curve:
        assert point.equity == pytest.approx(point.cash + point.long_value - point.short_value)
    assert result.trades
    for trade in result.trades:  # decided on a close, filled at the next session's open with 5 bps slippage
        assert trade.decided is not None
        assert trade.date.isoformat() == sessions[sessions.index(trade.decided.isoformat()) + 1]
        sign = 1 if trade.action in ("buy", "cover") else -1
        assert trade.price == pytest.approx(bars[trade.ticker][trade.date.isoformat()].open * (1 + sign * 5e-4))
    # every signal equals what the analyst says with everything after its date hidden
    assert len(result.signals) == 5 * len(TICKERS) * len(FEW)
    for record in result.signals:
        snapshot = build_snapshot(Truncated(offline, record.date), record.ticker, *analysis_window(record.date))
        spec = load_analyst(record.analyst)
        expected = spec.derive_signal(spec.analyze(snapshot))
        assert (record.signal, record.confidence) == (expected.signal, expected.confidence)
    assert result.metrics is not None and result.metrics.sessions == len(sessions)
    assert {(r.analyst, r.ticker) for r in result.scorecard} >= {(a, t) for a in FEW for t in [*TICKERS, "ALL"]}
    # persisted: the JSON and the picture beside it, and the artifacts
    stored = BacktestResult.model_validate_json((tmp_path / f"{result.run_id}.json").read_text())
    assert stored.equity_curve == result.equity_curve and stored.trades == result.trades
    assert (tmp_path / f"{result.run_id}.png").read_bytes().startswith(b"\x89PNG")
    assert {"backtest-metrics", "backtest-scorecard", "backtest-equity"} <= _artifact_keys(result.run_id)


def _analyze(**parameters: Any) -> Any:
    from flows.hedge_fund import hedge_fund

    result = hedge_fund(persist=False, **parameters)

    async def finish() -> Any:
        return await result

    return asyncio.run(finish()) if inspect.isawaitable(result) else result  # the flow is async today


def test_a_rerun_and_a_later_analyze_of_a_past_date_compute_nothing_twice(cold_cache: None, tmp_path: Path) -> None:
    from blocks.cache import MEMORY
    from flows.backtest import backtest

    first = backtest(tickers=["TSLA"], analysts=FEW, output_dir=str(tmp_path), start=START, end=END)
    # one cached committee run per date: 5 dates x 2 analysts looked up, plus TSLA's and SPY's price history
    assert (first.cache.lookups, first.cache.hits) == (5 * len(FEW) + 2, 0)
    MEMORY.clear()  # as a new process finds it: the storage tier only
    again = backtest(tickers=["TSLA"], analysts=FEW, output_dir=str(tmp_path), start=START, end=END)
    assert again.cache.hit_rate == 1.0 and again.cache.storage_hits == again.cache.lookups
    assert again.run_id != first.run_id and again.started_at > first.started_at
    assert again.equity_curve == first.equity_curve and again.trades == first.trades
    assert again.signals == first.signals and again.metrics == first.metrics
    day = first.rebalance_dates[2]
    analyze = _analyze(tickers=["TSLA"], end=day, analysts=FEW)
    # every analyst answered from the backtest's records; only the ticker's snapshot (its datasets were read
    # in-process by the backtest, never cached per date) is fetched again: one snapshot lookup, a miss
    assert analyze.cache.hits == len(FEW) and analyze.cache.lookups == len(FEW) + 1
    assert {(s.analyst, s.signal, s.confidence) for s in analyze.signals} == {
        (r.analyst, r.signal, r.confidence) for r in first.signals if r.date == day
    }


def test_a_backtest_reuses_what_an_earlier_analyze_of_one_of_its_dates_computed(cold_cache: None, tmp_path: Path) -> None:
    from flows.backtest import backtest

    day = dt.date(2024, 3, 1)  # the third rebalance date of WINDOW
    analyze = _analyze(tickers=["V"], end=day, analysts=FEW)
    assert analyze.cache.hits == 0
    result = backtest(tickers=["V"], analysts=FEW, output_dir=str(tmp_path), start=START, end=END)
    assert day in result.rebalance_dates
    # that date's two signals come from the analyze run's records; the other dates and the histories are new
    assert (result.cache.lookups, result.cache.hits) == (5 * len(FEW) + 2, len(FEW))
    assert {(r.analyst, r.signal, r.confidence) for r in result.signals if r.date == day} == {
        (s.analyst, s.signal, s.confidence) for s in analyze.signals
    }


def test_max_cost_stops_cleanly_and_reports_what_it_spent(
    cold_cache: None, fake_model: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.backtest import backtest
    from hedgeflow.backtest.plan import BATCH_DATES, INPUT_TOKENS_PER_CALL, OUTPUT_TOKENS_PER_CALL

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai-compatible:fake": {"input": 1.0, "output": 1.0}}))
    monkeypatch.setenv("HEDGEFLOW_PRICES", str(prices))
    per_call = (INPUT_TOKENS_PER_CALL + OUTPUT_TOKENS_PER_CALL) / 1e6  # USD at $1 per million tokens
    window = {"start": dt.date(2023, 1, 1), "end": dt.date(2023, 12, 31)}  # 12 monthly dates: two batches of 6
    result: BacktestResult = backtest(
        tickers=["AAPL"], analysts=["technicals"], model=f"openai-compatible:fake@{fake_model.url}/v1",
        max_cost_usd=BATCH_DATES * per_call * 1.0001, output_dir=str(tmp_path), **window,
    )
    assert result.estimate.calls == 12 and result.estimate.cost_usd == pytest.approx(12 * per_call)
    assert result.status == "stopped" and "max cost" in (result.stopped_reason or "")
    assert len(result.rebalance_dates) == BATCH_DATES
    assert result.usage.calls == BATCH_DATES and 0 < result.usage.cost_usd
    assert fake_model.counters()["calls"] == BATCH_DATES  # the model was asked for the first batch only
    seventh = dt.date(2023, 7, 3)  # the first rebalance date it could not decide: the book stops before it
    assert result.equity_curve[-1].date < seventh
