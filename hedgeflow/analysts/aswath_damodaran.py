"""Aswath Damodaran: story and numbers, growth, reinvestment, risk, relative value and an FCFF DCF."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from hedgeflow import finmath
from hedgeflow.analysts.base import (
    SIGNAL_THRESHOLD,
    analysis_of,
    no_data,
    rules_signal,
    score_between,
    sub_score,
)
from hedgeflow.analysts.common import (
    debt_to_equity,
    finite,
    growth_cagr,
    interest_coverage,
    latest,
    latest_metric,
    market_cap,
    mean_score,
)
from hedgeflow.schemas import AgentSignal, Analysis, LineItem, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "roic",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_cagr_bad: float = 0.0  # -1 at 0%, +1 at 15% a year
    revenue_cagr_good: float = 0.15
    roic_bad: float = 0.06  # below a typical cost of capital
    roic_good: float = 0.20
    beta_bad: float = 1.6
    beta_good: float = 0.8
    assumed_beta: float = 1.0  # the Snapshot carries no market prices to regress against
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.3
    interest_cover_bad: float = 2.0
    interest_cover_good: float = 12.0
    pe_vs_history_bad: float = 1.3  # current P/E over its own median: -1 at 1.3x, +1 at 0.7x
    pe_vs_history_good: float = 0.7
    min_pe_history: int = 3
    risk_free: float = 0.045
    equity_risk_premium: float = 0.05
    debt_spread: float = 0.015  # pre-tax cost of debt = risk free + spread
    tax_rate: float = 0.21
    max_growth: float = 0.12  # high-growth phase uses the revenue CAGR clipped to [0, 12%]
    growth_years: int = 5
    terminal_growth: float = 0.025
    safety_bad: float = -0.3
    safety_good: float = 0.3
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    growth_reinvestment: float = 1.0
    risk: float = 0.8
    relative_valuation: float = 0.8
    dcf: float = 1.4


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Aswath Damodaran"
DESCRIPTION = "Story and numbers: growth, reinvestment, risk, relative value and an FCFF DCF."
PERSONA = (
    "You are Aswath Damodaran, the dean of valuation. Every valuation connects a story to numbers. "
    "Rules: growth is only valuable when returns on invested capital exceed the cost of capital; "
    "measure risk with beta, leverage and interest cover; value the firm by discounting free cash "
    "flow to the firm at a WACC built from a CAPM cost of equity, then subtract debt; cross-check "
    "with the price-earnings ratio against the company's own history. Act on a margin of safety "
    "of roughly 25% or more either way; otherwise stay neutral and say which input would change your mind."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _growth_reinvestment(snapshot, t, w.growth_reinvestment),
        _risk(snapshot, t, w.risk),
        _relative_valuation(snapshot, t, w.relative_valuation),
        _dcf(snapshot, t, w.dcf),
    )
    return analysis_of("aswath_damodaran", snapshot, subs, market_cap=market_cap(snapshot))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _ebit(item: LineItem) -> float | None:
    return finite(item.ebit) if finite(item.ebit) is not None else finite(item.operating_income)


def roic(snapshot: Snapshot, tax_rate: float = THRESHOLDS.tax_rate) -> float | None:
    """Return on invested capital: ttm metrics, else EBIT (1 - t) / (equity + debt - cash) of the latest year."""
    value = latest_metric(snapshot, "return_on_invested_capital")
    if value is not None or not snapshot.line_items:
        return value
    item = snapshot.line_items[0]
    ebit, equity = _ebit(item), finite(item.shareholders_equity)
    net_debt = (finite(item.total_debt) or 0.0) - (finite(item.cash_and_equivalents) or 0.0)
    invested = None if equity is None else equity + net_debt
    if ebit is None or invested is None or invested <= 0:
        return None
    return ebit * (1.0 - tax_rate) / invested


def _working_capital_change(snapshot: Snapshot) -> float:
    items = snapshot.line_items
    if len(items) < 2:
        return 0.0
    new, old = finite(items[0].working_capital), finite(items[1].working_capital)
    return 0.0 if new is None or old is None else new - old


def _growth_reinvestment(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "growth_reinvestment"
    growth = growth_cagr(snapshot.line_items, "revenue")
    returns_on_capital = roic(snapshot, t.tax_rate)
    reinvestment_rate = None
    if snapshot.line_items:
        item = snapshot.line_items[0]
        ebit, da, capex = _ebit(item), finite(item.depreciation_and_amortization), finite(item.capital_expenditure)
        if ebit is not None and ebit > 0 and da is not None and capex is not None:
            net_capex = abs(capex) - da + _working_capital_change(snapshot)
            reinvestment_rate = net_capex / (ebit * (1.0 - t.tax_rate))
    score = mean_score(
        [
            score_between(growth, t.revenue_cagr_bad, t.revenue_cagr_good),
            score_between(returns_on_capital, t.roic_bad, t.roic_good),
        ]
    )
    if score is None:
        return no_data(name, "no revenue history and no return on invested capital", weight=weight)
    shown = [
        f"revenue CAGR {growth:.1%}" if growth is not None else "no revenue history",
        f"ROIC {returns_on_capital:.1%}" if returns_on_capital is not None else "ROIC unknown",
        f"reinvestment rate {reinvestment_rate:.0%}" if reinvestment_rate is not None else "",
    ]
    return sub_score(
        name,
        score,
        weight=weight,
        details=", ".join(s for s in shown if s),
        revenue_cagr=growth,
        roic=returns_on_capital,
        reinvestment_rate=reinvestment_rate,
    )


def _risk(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "risk"
    leverage, cover = debt_to_equity(snapshot), interest_coverage(snapshot)
    # Beta needs market returns that the Snapshot does not carry: it is assumed, so it does not score.
    score = mean_score(
        [
            score_between(leverage, t.debt_to_equity_bad, t.debt_to_equity_good),
            score_between(cover, t.interest_cover_bad, t.interest_cover_good),
        ]
    )
    if score is None:
        return no_data(name, f"no leverage or interest cover; beta assumed {t.assumed_beta:.1f}", weight=weight)
    shown = [
        f"beta assumed {t.assumed_beta:.1f} (no market prices in the snapshot)",
        f"debt/equity {leverage:.2f}" if leverage is not None else "debt/equity unknown",
        f"interest cover {cover:.1f}x" if cover is not None else "no interest expense reported",
    ]
    return sub_score(
        name,
        score,
        weight=weight,
        details=", ".join(shown),
        beta=t.assumed_beta,
        beta_assumed=1.0,
        debt_to_equity=leverage,
        interest_coverage=cover,
    )


def _relative_valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "relative_valuation"
    pes = [finite(m.price_to_earnings_ratio) for m in snapshot.metrics]
    current = pes[0] if pes else None
    history = [pe for pe in pes[1:] if pe is not None and pe > 0]
    if current is None or current <= 0:
        return no_data(name, "no positive current P/E", weight=weight)
    if len(history) < t.min_pe_history:
        return no_data(name, f"only {len(history)} past P/E values (need {t.min_pe_history})", weight=weight)
    median = statistics.median(history)
    relative = current / median
    return sub_score(
        name,
        score_between(relative, t.pe_vs_history_bad, t.pe_vs_history_good),
        weight=weight,
        details=f"P/E {current:.1f} against a historical median of {median:.1f} ({relative:.2f}x)",
        pe=current,
        pe_median_history=median,
        pe_vs_history=relative,
    )


def _dcf(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "dcf"
    cap = market_cap(snapshot)
    if not snapshot.line_items or cap is None:
        return no_data(name, "no annual statements or market cap", weight=weight)
    item = snapshot.line_items[0]
    fcff = finite(
        finmath.free_cash_flow_to_firm(
            _ebit(item), t.tax_rate, item.depreciation_and_amortization, item.capital_expenditure,
            _working_capital_change(snapshot),
        )
    )
    source = "FCFF from EBIT"
    if fcff is None:
        fcff, source = latest(snapshot.line_items, "free_cash_flow"), "reported free cash flow as FCFF proxy"
    if fcff is None or fcff <= 0:
        return no_data(name, "free cash flow to the firm is missing or not positive", weight=weight)
    # The equity bridge adds cash once: working capital (hence FCFF) leaves cash and debt out.
    debt, cash = finite(item.total_debt) or 0.0, finite(item.cash_and_equivalents) or 0.0
    cost_of_equity = finmath.capm_cost_of_equity(t.risk_free, t.assumed_beta, t.equity_risk_premium)
    discount = finmath.wacc(cap, debt, cost_of_equity, t.risk_free + t.debt_spread, t.tax_rate)
    growth = max(0.0, min(t.max_growth, growth_cagr(snapshot.line_items, "revenue") or 0.0))
    firm_value = finmath.dcf_value(fcff, growth, discount, t.terminal_growth, t.growth_years)
    equity_value = firm_value - debt + cash
    safety = finite(finmath.margin_of_safety(equity_value, cap))
    if safety is None:
        return no_data(name, "the DCF did not converge (discount rate at or below terminal growth)", weight=weight)
    return sub_score(
        name,
        score_between(safety, t.safety_bad, t.safety_good),
        weight=weight,
        details=(
            f"{source} {fcff / 1e9:,.1f}bn, growth {growth:.1%} for {t.growth_years}y, WACC {discount:.1%} "
            f"(CAPM cost of equity {cost_of_equity:.1%}, beta assumed {t.assumed_beta:.1f}): "
            f"equity value {equity_value / 1e9:,.0f}bn, margin of safety {safety:+.0%}"
        ),
        fcff=fcff,
        cost_of_equity=cost_of_equity,
        wacc=discount,
        dcf_growth=growth,
        dcf_equity_value=equity_value,
        dcf_margin_of_safety=safety,
    )
