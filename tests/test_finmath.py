"""Shared maths: hand-computable inputs, a fixed tolerance, where each figure comes from, one invariant each."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hedgeflow import finmath

TOL = 1e-8
approx = lambda expected: pytest.approx(expected, abs=TOL)  # noqa: E731


def test_exports_are_defined() -> None:
    for name in finmath.__all__:
        assert hasattr(finmath, name), name


# --------------------------------------------------------------------------- ratios and growth


def test_safe_div() -> None:
    assert finmath.safe_div(6.0, 3.0) == approx(2.0)  # 6 / 3
    assert math.isnan(finmath.safe_div(1.0, 0.0))
    assert math.isnan(finmath.safe_div(None, 2.0))
    # invariant: scaling numerator and denominator together changes nothing
    assert finmath.safe_div(6.0 * 7, 3.0 * 7) == approx(finmath.safe_div(6.0, 3.0))


def test_growth_rate() -> None:
    assert finmath.growth_rate(110.0, 100.0) == approx(0.10)  # (110 - 100) / 100
    assert finmath.growth_rate(-50.0, -100.0) == approx(0.5)  # a halved loss: (-50 + 100) / |-100|
    assert math.isnan(finmath.growth_rate(1.0, 0.0))
    # invariant: units do not matter (thousands vs units)
    assert finmath.growth_rate(110e3, 100e3) == approx(finmath.growth_rate(110.0, 100.0))


def test_cagr() -> None:
    assert finmath.cagr(100.0, 121.0, 2) == approx(0.10)  # 1.1 ** 2 = 1.21
    assert math.isnan(finmath.cagr(-1.0, 121.0, 2))
    # invariant: cagr inverts compounding at any rate
    assert finmath.cagr(50.0, 50.0 * 1.07**5, 5) == approx(0.07)


def test_coefficient_of_variation() -> None:
    assert finmath.coefficient_of_variation([1.0, 2.0, 3.0]) == approx(0.5)  # std (ddof 1) = 1, mean = 2
    assert math.isnan(finmath.coefficient_of_variation([1.0]))
    # invariant: a change of units (x 1000) leaves it unchanged
    assert finmath.coefficient_of_variation([1e3, 2e3, 3e3]) == approx(0.5)


def test_weighted_mean() -> None:
    # (1 x 1 + 3 x 3) / (1 + 3) = 2.5; None and nan leave the weighting
    assert finmath.weighted_mean([1.0, 3.0, None, float("nan")], [1.0, 3.0, 5.0, 5.0]) == approx(2.5)
    assert math.isnan(finmath.weighted_mean([None], [1.0]))
    # invariant: scaling every weight changes nothing
    assert finmath.weighted_mean([1.0, 3.0], [10.0, 30.0]) == approx(2.5)


# --------------------------------------------------------------------------- returns and risk


def test_returns() -> None:
    assert finmath.returns([100.0, 110.0, 99.0]) == pytest.approx([0.10, -0.10], abs=TOL)  # 110/100-1, 99/110-1
    assert finmath.returns([100.0]).size == 0
    # invariant: returns do not depend on the price level
    assert finmath.returns([1.0, 1.1, 0.99]) == pytest.approx([0.10, -0.10], abs=TOL)


def test_annualised_volatility() -> None:
    # std([0.01, -0.01], ddof=1) = 0.01 x sqrt(2); x sqrt(252) = 0.01 x sqrt(504) = 0.2244994432
    assert finmath.annualised_volatility([0.01, -0.01]) == approx(0.01 * math.sqrt(504))
    assert math.isnan(finmath.annualised_volatility([0.01]))
    # invariant: shifting every return by a constant leaves the volatility unchanged
    assert finmath.annualised_volatility([0.06, 0.04]) == approx(0.01 * math.sqrt(504))


def test_max_drawdown() -> None:
    assert finmath.max_drawdown([100.0, 120.0, 90.0, 130.0]) == approx(-0.25)  # 90 / 120 - 1
    assert math.isnan(finmath.max_drawdown([]))
    # invariant: a rising series never draws down
    assert finmath.max_drawdown([1.0, 2.0, 3.0]) == approx(0.0)


def test_beta() -> None:
    market = np.linspace(-0.02, 0.02, 21)
    assert finmath.beta(2.0 * market + 0.001, market) == approx(2.0)  # cov(2m, m) / var(m) = 2
    assert math.isnan(finmath.beta(market[:10], market[:10]))
    # invariant: adding a constant (alpha) to the asset leaves beta unchanged
    assert finmath.beta(2.0 * market + 0.5, market) == approx(2.0)


# --------------------------------------------------------------------------- indicators


def test_ema() -> None:
    # span 3 -> alpha 0.5: 1, 0.5 x 2 + 0.5 x 1 = 1.5, 0.5 x 3 + 0.5 x 1.5 = 2.25
    assert finmath.ema([1.0, 2.0, 3.0], 3) == pytest.approx([1.0, 1.5, 2.25], abs=TOL)
    # invariant: a constant series is its own average
    assert finmath.ema([5.0] * 10, 8) == pytest.approx([5.0] * 10, abs=TOL)


def test_rsi() -> None:
    # period 2 on 1, 2, 3, 2: seed gain 1, loss 0; then gain (1 + 0) / 2 = 0.5, loss (0 + 1) / 2 = 0.5 -> RS 1 -> 50
    assert finmath.rsi([1.0, 2.0, 3.0, 2.0], period=2) == approx(50.0)
    assert finmath.rsi([1.0, 2.0, 3.0, 4.0], period=2) == approx(100.0)  # no losses
    assert math.isnan(finmath.rsi([1.0, 2.0], period=14))
    # invariant: mirroring prices swaps gains and losses, so RSI(mirror) = 100 - RSI
    closes = [10.0, 11.0, 10.5, 11.5, 12.0, 11.0, 11.8, 12.4]
    mirrored = [30.0 - c for c in closes]
    assert finmath.rsi(mirrored, 3) == approx(100.0 - finmath.rsi(closes, 3))


def test_adx() -> None:
    # every bar one higher: +DM = 1, -DM = 0, so -DI = 0 and DX = 100 |+DI - 0| / (+DI + 0) = 100 on every bar
    n = 40
    high, low, close = [i + 1.0 for i in range(n)], [float(i) for i in range(n)], [i + 0.5 for i in range(n)]
    assert finmath.adx(high, low, close, 14) == approx(100.0)
    assert math.isnan(finmath.adx(high[:20], low[:20], close[:20], 14))  # under 2 x 14 + 1 bars
    # invariant: ADX is a ratio of moves, so the price scale does not matter
    rng = np.random.default_rng(7)
    c = 100 + np.cumsum(rng.normal(0, 1, 60))
    h, l = c + 1.0, c - 1.0
    assert finmath.adx(h * 3, l * 3, c * 3, 14) == pytest.approx(finmath.adx(h, l, c, 14), abs=1e-6)


def test_zscore() -> None:
    assert finmath.zscore(4.0, [1.0, 2.0, 3.0]) == approx(2.0)  # mean 2, std (ddof 1) 1
    assert math.isnan(finmath.zscore(1.0, [2.0, 2.0]))  # flat window
    # invariant: an affine change of units (a x + b, a > 0) leaves z unchanged
    assert finmath.zscore(4.0 * 3 + 7, [1.0 * 3 + 7, 2.0 * 3 + 7, 3.0 * 3 + 7]) == approx(2.0)


def test_bollinger_position() -> None:
    # window 3 of 1, 2, 3: mid 2, std 1; width 2 -> bands 0 and 4; close 3 sits at (3 - 0) / 4
    assert finmath.bollinger_position([1.0, 2.0, 3.0], window=3, width=2.0) == approx(0.75)
    assert finmath.bollinger_position([1.0, 2.0, 3.0], window=3, width=1.0) == approx(1.0)  # at the upper band
    assert math.isnan(finmath.bollinger_position([1.0], window=3))
    # invariant: a flat series sits mid-band
    assert finmath.bollinger_position([5.0] * 20) == approx(0.5)


# --------------------------------------------------------------------------- price statistics


def test_hurst_exponent() -> None:
    rng = np.random.default_rng(42)
    # theory: a Gaussian random walk of log prices has H = 0.5; i.i.d. log prices (no memory) have H = 0
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 2000)))
    noise = 100 * np.exp(rng.normal(0, 0.01, 2000))
    assert finmath.hurst_exponent(walk) == pytest.approx(0.5, abs=0.1)
    assert finmath.hurst_exponent(noise) == pytest.approx(0.0, abs=0.1)
    assert math.isnan(finmath.hurst_exponent([1.0, 2.0, 3.0]))
    # invariant: H reads log-price differences, so the price level does not matter
    assert finmath.hurst_exponent(walk * 50) == pytest.approx(finmath.hurst_exponent(walk), abs=1e-9)


def test_skewness() -> None:
    # 0, 0, 3: mean 1, deviations -1, -1, 2; m3 = 6 / 3 = 2, m2 = 6 / 3 = 2 -> 2 / 2 ** 1.5 = 0.7071067812
    assert finmath.skewness([0.0, 0.0, 3.0]) == approx(1 / math.sqrt(2))
    assert finmath.skewness([1.0, 2.0, 3.0]) == approx(0.0)  # symmetric
    # invariant: mirroring the data flips the sign
    assert finmath.skewness([0.0, 0.0, -3.0]) == approx(-1 / math.sqrt(2))


def test_excess_kurtosis() -> None:
    # -1, -1, 1, 1: m2 = 1, m4 = 1 -> 1 / 1 - 3 = -2 (the flattest possible distribution)
    assert finmath.excess_kurtosis([-1.0, -1.0, 1.0, 1.0]) == approx(-2.0)
    assert math.isnan(finmath.excess_kurtosis([1.0, 2.0, 3.0]))
    # invariant: scale-free
    assert finmath.excess_kurtosis([-5.0, -5.0, 5.0, 5.0]) == approx(-2.0)


def test_tail_ratio() -> None:
    symmetric = np.arange(-10.0, 11.0)  # 21 values: 5th pct -9, 95th pct 9 (linear interpolation)
    assert finmath.tail_ratio(symmetric) == approx(1.0)
    # right tail doubled: -10..0 and 2, 4, ..., 20; 95th pct = sorted[19] = 18, 5th pct = sorted[1] = -9 -> 2
    skewed = np.concatenate([np.arange(-10.0, 1.0), np.arange(2.0, 21.0, 2.0)])
    assert finmath.tail_ratio(skewed) == approx(2.0)
    assert math.isnan(finmath.tail_ratio([1.0, -1.0]))
    # invariant: scale-free
    assert finmath.tail_ratio(skewed * 0.01) == approx(2.0)


# --------------------------------------------------------------------------- valuation


def test_dcf_value() -> None:
    # no growth: 100 / 1.1 + (100 / 0.10) / 1.1 = 90.909 + 909.091 = 1000, a perpetuity 100 / 0.10
    assert finmath.dcf_value(100.0, 0.0, 0.10, terminal_growth=0.0, years=1) == approx(1000.0)
    # growth equal to the discount rate: each year is worth 100 today; terminal 121 / 0.1 / 1.21 = 1000
    assert finmath.dcf_value(100.0, 0.10, 0.10, terminal_growth=0.0, years=2) == approx(1200.0)
    assert math.isnan(finmath.dcf_value(-5.0, 0.0, 0.10))
    assert math.isnan(finmath.dcf_value(100.0, 0.0, 0.02, terminal_growth=0.025))  # r <= g_T
    # invariant: linear in the cash flow
    assert finmath.dcf_value(200.0, 0.05, 0.09) == approx(2 * finmath.dcf_value(100.0, 0.05, 0.09))


def test_margin_of_safety() -> None:
    assert finmath.margin_of_safety(150.0, 100.0) == approx(0.5)  # (150 - 100) / 100
    assert math.isnan(finmath.margin_of_safety(150.0, None))
    # invariant: units do not matter
    assert finmath.margin_of_safety(150e9, 100e9) == approx(0.5)


def test_owner_earnings() -> None:
    assert finmath.owner_earnings(100.0, 20.0, -30.0, 10.0) == approx(80.0)  # 100 + 20 - 30 - 10
    assert math.isnan(finmath.owner_earnings(None, 20.0, -30.0))
    # invariant: capex counts as an outflow whatever its sign convention
    assert finmath.owner_earnings(100.0, 20.0, 30.0, 10.0) == approx(80.0)


def test_graham_number() -> None:
    assert finmath.graham_number(2.0, 20.0) == approx(30.0)  # sqrt(22.5 x 2 x 20) = sqrt(900)
    assert math.isnan(finmath.graham_number(-1.0, 20.0))
    # invariant: scaling EPS and book value by k scales the number by k
    assert finmath.graham_number(6.0, 60.0) == approx(90.0)


def test_capm_cost_of_equity() -> None:
    assert finmath.capm_cost_of_equity(0.04, 1.2, 0.05) == approx(0.10)  # 0.04 + 1.2 x 0.05
    assert finmath.capm_cost_of_equity(0.04, float("nan"), 0.05) == approx(0.09)  # beta defaults to 1
    # invariant: a zero-beta asset earns the risk-free rate
    assert finmath.capm_cost_of_equity(0.04, 0.0) == approx(0.04)


def test_residual_income_value() -> None:
    # NI 20 on BV 100 at r 10%: RI 10 a year forever -> 10 / 1.1 + (10 / 0.1) / 1.1 = 100; value 100 + 100
    assert finmath.residual_income_value(100.0, 20.0, 0.10, 0.0, years=1, terminal_growth=0.0) == approx(200.0)
    assert math.isnan(finmath.residual_income_value(-10.0, 20.0, 0.10, 0.0))
    assert math.isnan(finmath.residual_income_value(100.0, 20.0, 0.02, 0.0, terminal_growth=0.03))
    # invariant: earning exactly the cost of equity is worth exactly book value, at any growth
    assert finmath.residual_income_value(100.0, 10.0, 0.10, 0.07) == approx(100.0)


def test_multiple_implied_equity_value() -> None:
    # EV 120 at 12x -> EBITDA 10; at 6x EV 60; net debt 120 - 100 = 20 -> equity 40
    assert finmath.multiple_implied_equity_value(120.0, 12.0, 6.0, 100.0) == approx(40.0)
    assert math.isnan(finmath.multiple_implied_equity_value(120.0, -3.0, 6.0, 100.0))
    assert math.isnan(finmath.multiple_implied_equity_value(None, 12.0, 6.0, 100.0))
    # invariant: at the current multiple the implied equity is the market cap
    assert finmath.multiple_implied_equity_value(120.0, 12.0, 12.0, 100.0) == approx(100.0)
