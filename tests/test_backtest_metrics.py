"""Backtest metrics and the scorecard: hand-computable inputs, where each figure comes from, one invariant each."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest

from hedgeflow.backtest import metrics as m
from hedgeflow.backtest import scorecard as sc
from hedgeflow.backtest.calendar import next_session, rebalance_dates
from hedgeflow.backtest.models import SignalRecord

TOL = 1e-8
approx = lambda expected: pytest.approx(expected, abs=TOL)  # noqa: E731
D = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(10)]


def test_total_and_annualised_return() -> None:
    assert m.total_return([100.0, 110.0, 99.0]) == approx(-0.01)  # 99 / 100 - 1
    assert m.annualised_return([100.0, 110.0, 121.0], periods=2) == approx(0.21)  # 2 returns = 1 year: 121/100 - 1
    assert m.annualised_return([100.0, 110.0, 121.0], periods=1) == approx(0.10)  # 2 years: 1.21 ** 0.5 - 1
    assert math.isnan(m.total_return([100.0]))
    # invariant: the unit of account does not matter
    assert m.annualised_return([1e3, 1.1e3, 1.21e3], periods=1) == approx(0.10)


def test_sharpe_ratio() -> None:
    # mean 0.02, std (ddof 1) sqrt(0.01^2 + 0.01^2) = 0.0141421356: 1.41421356 x sqrt(252) = sqrt(504)
    assert m.sharpe_ratio([0.01, 0.03]) == approx(math.sqrt(504))
    assert math.isnan(m.sharpe_ratio([0.01]))
    assert math.isnan(m.sharpe_ratio([0.01, 0.01]))  # no spread
    # invariant: leverage (scaling every return) leaves it unchanged
    assert m.sharpe_ratio([0.02, 0.06]) == approx(m.sharpe_ratio([0.01, 0.03]))


def test_sortino_ratio() -> None:
    # mean 0.01; downside deviation sqrt(mean([0, 0.01^2])) = 0.00707106781: 0.01 / 0.00707... = sqrt(2)
    assert m.sortino_ratio([0.03, -0.01], periods=1) == approx(math.sqrt(2))
    assert math.isnan(m.sortino_ratio([0.01, 0.02]))  # nothing below the target
    # invariant: scale-free like Sharpe
    assert m.sortino_ratio([0.06, -0.02], periods=1) == approx(math.sqrt(2))


def test_drawdown_and_its_dates() -> None:
    # peak 120 on D1, trough 90 on D2 (90/120 - 1 = -25 %), back to 120 or more on D4 (130)
    worst, peak, trough, recovery = m.drawdown_dates([100.0, 120.0, 90.0, 110.0, 130.0], D[:5])
    assert (worst, peak, trough, recovery) == (approx(-0.25), D[1], D[2], D[4])
    assert m.drawdown_dates([100.0, 120.0, 90.0], D[:3])[3] is None  # never recovered
    assert m.drawdown_dates([1.0, 2.0, 3.0], D[:3]) == (0.0, None, None, None)
    # invariant: scaling the curve changes nothing
    assert m.drawdown_dates([1.0, 1.2, 0.9, 1.1, 1.3], D[:5])[:3] == (approx(-0.25), D[1], D[2])


def test_turnover_and_exposure() -> None:
    assert m.turnover(50_000.0, [100_000.0, 100_000.0]) == approx(0.5)  # half the book traded
    # gross mean((50 + 0)/100, (100 + 50)/100) = 1.0; net mean(0.5, 0.5) = 0.5
    assert m.exposure([50.0, 100.0], [0.0, 50.0], [100.0, 100.0]) == (approx(1.0), approx(0.5))
    # invariant: doubling positions and equity together leaves exposure unchanged
    assert m.exposure([100.0, 200.0], [0.0, 100.0], [200.0, 200.0]) == (approx(1.0), approx(0.5))


def test_alpha_and_beta() -> None:
    # r_p = 2 r_b + 0.001 exactly: beta 2, daily alpha 0.001, annualised 1.001 ** 252 - 1
    bench = np.array([0.01, -0.02, 0.015, -0.005] * 6)
    assert m.alpha(2 * bench + 0.001, bench) == approx(1.001**252 - 1)
    assert math.isnan(m.alpha(bench[:10], bench[:10]))  # under 20 pairs
    # invariant: the benchmark against itself has no alpha
    assert m.alpha(bench, bench) == approx(0.0)


def test_rebalance_calendar() -> None:
    sessions = [dt.date(2024, 1, 2), dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 1, 31), dt.date(2024, 2, 1)]
    assert rebalance_dates(sessions, "daily") == sessions
    # ISO weeks: 1-2 and 1-5 share week 1; 1-8 opens week 2; 1-31 and 2-1 share week 5
    assert rebalance_dates(sessions, "weekly") == [dt.date(2024, 1, 2), dt.date(2024, 1, 8), dt.date(2024, 1, 31)]
    assert rebalance_dates(sessions, "monthly") == [dt.date(2024, 1, 2), dt.date(2024, 2, 1)]
    assert next_session(sessions, dt.date(2024, 1, 8)) == dt.date(2024, 1, 31)
    assert next_session(sessions, dt.date(2024, 2, 1)) is None


def test_forward_return_and_hit_rate() -> None:
    closes = [10.0, 11.0, 12.0, 13.0, 14.0, 15.0]
    assert sc.forward_return(D[:6], closes, D[0], 5) == approx(0.5)  # 15 / 10 - 1
    assert math.isnan(sc.forward_return(D[:6], closes, D[1], 5))  # runs past the data
    # bullish +10 % hit, bearish +5 % miss, neutral ignored, bullish -10 % miss: 1 of 3
    assert sc.hit_rate(["bullish", "bearish", "neutral", "bullish"], [0.1, 0.05, 0.2, -0.1]) == approx(1 / 3)
    assert math.isnan(sc.hit_rate(["neutral"], [0.1]))


def test_rank_ic() -> None:
    assert sc.rank_ic([1, 2, 3, 4], [10, 20, 30, 45]) == approx(1.0)
    assert sc.rank_ic([1, 2, 3, 4], [45, 30, 20, 10]) == approx(-1.0)
    # ties share a rank: ranks (1.5, 1.5, 3) vs (1, 2, 3); deviations (-.5, -.5, 1) and (-1, 0, 1):
    # 1.5 / sqrt(1.5 x 2) = 0.8660254 (scipy.stats.spearmanr gives the same)
    assert sc.rank_ic([0, 0, 1], [1, 2, 3]) == approx(math.sqrt(3) / 2)
    assert math.isnan(sc.rank_ic([1, 1, 1], [1, 2, 3]))
    # invariant: any monotone transform of the returns leaves it unchanged
    assert sc.rank_ic([0, 0, 1], np.exp([1, 2, 3])) == approx(math.sqrt(3) / 2)


def test_scorecard_rows() -> None:
    closes = {"A": (D, [10.0 + i for i in range(10)]), "B": (D, [20.0 - i for i in range(10)])}

    def rec(day: int, ticker: str, signal: str, confidence: float = 80.0) -> SignalRecord:
        return SignalRecord(date=D[day], analyst="x", ticker=ticker, signal=signal, confidence=confidence)  # type: ignore[arg-type]

    records = [rec(0, "A", "bullish"), rec(1, "A", "neutral"), rec(0, "B", "bearish"), rec(1, "B", "bullish"),
               rec(2, "B", "bearish", 10.0)]
    rows = {(r.ticker, r.horizon): r for r in sc.build_scorecard(records, closes, horizons=(5,))}
    a, b, both = rows[("A", 5)], rows[("B", 5)], rows[("ALL", 5)]
    assert (a.signals, a.hit_rate) == (2, approx(1.0))  # A rises: the one bullish call hits
    assert a.mean_return_bullish == approx(15 / 10 - 1)  # D0 -> D5
    assert a.mean_return_neutral == approx(16 / 11 - 1)  # D1 -> D6
    assert (b.signals, b.hit_rate) == (3, approx(2 / 3))  # B falls: both bearish calls hit, the bullish misses
    # B's returns (D0, D1, D2 -> +5): 15/20 - 1 = -.25, 14/19 - 1 = -.263, 13/18 - 1 = -.278; ranks 3, 2, 1;
    # scores -0.8, +0.8, -0.1: ranks 1, 3, 2; deviations (-1, 1, 0) x (1, 0, -1): -1 / (sqrt 2 x sqrt 2) = -0.5
    assert b.rank_ic == approx(-0.5)
    assert both.signals == 5
    assert sc.build_scorecard([rec(0, "A", "bullish")], closes, horizons=(5,))[0].ticker == "A"  # no ALL row for one ticker


def test_the_package_exports_what_it_names() -> None:
    import hedgeflow.backtest as backtest

    for name in backtest.__all__:
        assert hasattr(backtest, name), name
