"""The dashboard's figures, checked against hand computations, and the samples read back from a real store."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgeflow.stats import RunSample, load_samples, percentile, render_html, render_text, summarize
from hedgeflow.store import RunRow, SignalRow, make_engine, upgrade

UTC = dt.timezone.utc
DAY1 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DAY2 = dt.datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _sample(n: int, start: dt.datetime, seconds: float, status: str, hit: float, calls: int, cost: float,
            elapsed: dict[str, list[float]] | None = None) -> RunSample:
    return RunSample(
        run_id=f"run-{n}", status=status, started_at=start, finished_at=start + dt.timedelta(seconds=seconds),
        model_calls=calls, input_tokens=100 * calls, output_tokens=10 * calls, cost_usd=cost, cache_hit_rate=hit,
        analyst_elapsed_s=elapsed or {},
    )


# Five runs: times 2, 4, 6, 8, 20 s; three completed, one degraded, one failed.
SAMPLES = [
    _sample(1, DAY1, 2.0, "completed", 1.0, 0, 0.0, {"technicals": [0.1, 0.3]}),
    _sample(2, DAY1 + dt.timedelta(hours=1), 4.0, "completed", 0.5, 2, 0.01, {"technicals": [0.2]}),
    _sample(3, DAY1 + dt.timedelta(hours=2), 6.0, "degraded", 0.0, 4, 0.02, {"valuation": [1.0, 3.0]}),
    _sample(4, DAY2, 8.0, "completed", 0.5, 1, 0.005),
    _sample(5, DAY2 + dt.timedelta(hours=1), 20.0, "failed", 0.0, 0, 0.0),
]


def test_percentile_interpolates_between_closest_ranks() -> None:
    # numpy.percentile([2, 4, 6, 8, 20], q) by hand: h = 4q/100; q=95 -> h=3.8 -> 8 + 0.8 * (20 - 8) = 17.6
    assert percentile([20, 2, 8, 4, 6], 50) == 6.0
    assert percentile([2, 4, 6, 8, 20], 95) == pytest.approx(17.6)
    assert percentile([2, 4, 6, 8, 20], 100) == 20.0
    assert percentile([5.0], 95) == 5.0
    assert math.isnan(percentile([], 50))


@given(st.lists(st.floats(0, 1e4), min_size=1, max_size=50), st.floats(0, 100), st.floats(0, 100))
def test_percentile_is_monotone_and_bounded(values: list[float], q1: float, q2: float) -> None:
    low, high = sorted((q1, q2))
    assert min(values) <= percentile(values, low) <= percentile(values, high) <= max(values) + 1e-9


def test_summary_figures_by_hand() -> None:
    report = summarize(reversed(SAMPLES))  # order does not matter
    assert report.runs == 5
    assert report.p50_run_time_s == 6.0
    assert report.p95_run_time_s == pytest.approx(17.6)
    assert report.max_run_time_s == 20.0
    assert report.success_rate == pytest.approx(3 / 5)
    assert report.degraded_rate == pytest.approx(1 / 5)
    assert report.error_rate == pytest.approx(2 / 5)  # degraded + failed
    assert report.success_rate + report.error_rate == pytest.approx(1.0)
    assert report.cache_hit_rate == pytest.approx((1 + 0.5 + 0 + 0.5 + 0) / 5)
    assert report.model_calls == 7
    assert report.tokens == 7 * 110
    assert report.cost_usd == pytest.approx(0.035)
    assert report.status_counts == {"completed": 3, "degraded": 1, "failed": 1}
    day1, day2 = report.days
    assert (day1.day, day1.runs, day1.model_calls, day1.tokens) == (DAY1.date(), 3, 6, 660)
    assert day1.cost_usd == pytest.approx(0.03) and day1.p50_run_time_s == 4.0 and day1.success_rate == pytest.approx(2 / 3)
    assert (day2.runs, day2.model_calls, day2.p50_run_time_s, day2.success_rate) == (2, 1, 14.0, 0.5)
    technicals, valuation = report.analysts
    assert (technicals.analyst, technicals.signals, technicals.p50_s, technicals.max_s) == ("technicals", 3, 0.2, 0.3)
    assert technicals.p95_s == pytest.approx(0.29)  # 0.2 + 0.9 * (0.3 - 0.2)
    assert (valuation.p50_s, valuation.p95_s, valuation.max_s) == (2.0, pytest.approx(2.9), 3.0)
    assert report.run_times_s == [2.0, 4.0, 6.0, 8.0, 20.0]


def test_no_run_gives_nan_rates_and_an_empty_page() -> None:
    report = summarize([])
    assert report.runs == 0 and math.isnan(report.success_rate) and math.isnan(report.p50_run_time_s)
    assert json.loads(report.model_dump_json())["success_rate"] is None
    assert "No stored run" in render_html(report)
    assert "success rate    n/a" in render_text(report)


def test_text_and_html_show_the_figures() -> None:
    report = summarize(SAMPLES)
    text = render_text(report)
    assert "run time p95    17.60 s" in text and "success rate    60.0 %" in text
    page = render_html(report)
    assert "17.60 s" in page and page.count('src="data:image/png;base64,') == 4
    assert "<script" not in page and "http://" not in page and "https://" not in page


def test_samples_read_back_from_the_store(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    upgrade(engine)
    base = {
        "request": {"tickers": ["AAPL"]}, "window_start": dt.date(2025, 1, 2), "window_end": dt.date(2025, 3, 31),
        "model": "rules", "model_calls": 2, "input_tokens": 30, "output_tokens": 5, "cached_tokens": 0,
        "cost_usd": 0.5, "cache_hit_rate": 0.25, "degraded_count": 0, "errors": {},
    }
    signal = {
        "ticker": "AAPL", "as_of": dt.date(2025, 3, 31), "signal": "bullish", "confidence": 50.0, "reasoning": "r",
        "degraded": False, "degraded_reason": None, "source": "rules", "model": "rules", "model_calls": 0,
        "input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "cost_usd": 0.0, "latency_s": 0.0,
    }
    with engine.begin() as connection:
        connection.execute(RunRow.__table__.insert(), [
            {**base, "id": "old", "status": "completed", "started_at": DAY1, "finished_at": DAY1 + dt.timedelta(seconds=3)},
            {**base, "id": "new", "status": "degraded", "started_at": DAY2, "finished_at": DAY2 + dt.timedelta(seconds=5)},
        ])
        connection.execute(SignalRow.__table__.insert(), [
            {**signal, "run_id": "new", "analyst": "technicals", "elapsed_s": 1.5},
            {**signal, "run_id": "new", "analyst": "valuation", "elapsed_s": 0.5},
        ])
    every = load_samples(engine)
    assert [s.run_id for s in every] == ["old", "new"]
    (recent,) = load_samples(engine, since=DAY1 + dt.timedelta(hours=1))
    assert recent.run_time_s == 5.0 and recent.status == "degraded" and recent.cost_usd == 0.5
    assert recent.analyst_elapsed_s == {"technicals": [1.5], "valuation": [0.5]}
    assert recent.started_at.tzinfo is not None
    engine.dispose()


def test_health_breaches_by_hand() -> None:
    from hedgeflow.stats import breaches

    report = summarize(SAMPLES)  # success 3/5 = 60 %, errors 2/5 = 40 %
    low, high = breaches(report, success_rate_min=0.9, error_rate_max=0.1)
    assert (low.kind, low.value, low.threshold, low.runs) == ("success-rate-low", pytest.approx(0.6), 0.9, 5)
    assert high.kind == "error-rate-high" and high.value == pytest.approx(0.4)
    assert "error rate 40.0 % over 10.0 %" in high.message
    assert breaches(report, success_rate_min=0.6, error_rate_max=0.4) == []  # at the threshold is not across it
    assert breaches(report, 0.9, 0.1, min_runs=6) == []
    assert breaches(summarize([]), 0.9, 0.1) == []
