"""Michael Burry: deep value on free-cash-flow yield and EV/EBIT, balance sheet and contrarian signals."""

from __future__ import annotations

from dataclasses import dataclass

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
    enterprise_value,
    finite,
    insider_sub_score,
    latest,
    market_cap,
    mean_score,
    news_sub_score,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    fcf_yield_bad: float = 0.03  # FCF / market cap: -1 at 3%, +1 at 12%
    fcf_yield_good: float = 0.12
    ev_ebit_bad: float = 15.0  # enterprise value / EBIT: -1 at 15x, +1 at 6x
    ev_ebit_good: float = 6.0
    debt_to_equity_bad: float = 1.0
    debt_to_equity_good: float = 0.3
    contrarian_bad: float = 0.0  # bearish share of headlines, read contrarian: -1 at none, +1 at 60%
    contrarian_good: float = 0.6
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    deep_value: float = 2.0
    balance_sheet: float = 1.0
    insiders: float = 1.0
    news: float = 0.5  # read contrarian


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Michael Burry"
DESCRIPTION = "Deep value on free-cash-flow yield and EV/EBIT, balance sheet and contrarian signals."
PERSONA = (
    "You are Michael Burry: a terse, data-driven, contrarian deep-value investor. "
    "Rules: hunt for stocks the market hates; demand a high free-cash-flow yield and a low EV/EBIT; "
    "check the balance sheet first (low leverage, net cash) to avoid permanent loss; take insider "
    "buying as a hard catalyst; treat a wave of negative news as a possible opportunity, not a warning, "
    "when the numbers are cheap. Skip stories. Speak in numbers: 'FCF yield 12.8%. EV/EBIT 5.3.'"
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _deep_value(snapshot, t, w.deep_value),
        _balance_sheet(snapshot, t, w.balance_sheet),
        insider_sub_score(snapshot, weight=w.insiders),
        news_sub_score(snapshot, weight=w.news, contrarian=(t.contrarian_bad, t.contrarian_good)),
    )
    return analysis_of("michael_burry", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _deep_value(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    cap = market_cap(snapshot)
    fcf = latest(items, "free_cash_flow")
    fcf_yield = fcf / cap if fcf is not None and cap is not None else None
    ebit = latest(items, "ebit")
    if ebit is None:
        ebit = latest(items, "operating_income")
    ev = enterprise_value(snapshot)
    ev_ebit = ev / ebit if ev is not None and ebit is not None and ebit > 0 else None
    ev_score = score_between(ev_ebit, t.ev_ebit_bad, t.ev_ebit_good)
    if ev_score is None and ebit is not None and ebit <= 0:
        ev_score = -1.0  # an operating loss: no earnings to buy cheaply
    score = mean_score([score_between(fcf_yield, t.fcf_yield_bad, t.fcf_yield_good), ev_score])
    if score is None:
        return no_data("deep_value", "free cash flow, EBIT or market cap unavailable", weight=weight)
    return sub_score(
        "deep_value", score, weight=weight,
        details=f"FCF yield {'n/a' if fcf_yield is None else f'{fcf_yield:.1%}'}, "
        f"EV/EBIT {'n/a' if ev_ebit is None else f'{ev_ebit:.1f}'}",
        fcf_yield=fcf_yield, ev_to_ebit=ev_ebit, enterprise_value=ev, market_cap=cap,
    )


def _balance_sheet(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    de = debt_to_equity(snapshot)
    debt = latest(snapshot.line_items, "total_debt")
    cash = latest(snapshot.line_items, "cash_and_equivalents")
    net_cash = cash - debt if cash is not None and debt is not None else None
    score = mean_score([
        score_between(de, t.debt_to_equity_bad, t.debt_to_equity_good),
        None if net_cash is None else (0.5 if net_cash > 0 else -0.5),
    ])
    if score is None:
        return no_data("balance_sheet", "no debt, equity or cash data", weight=weight)
    return sub_score(
        "balance_sheet", score, weight=weight,
        details=f"debt/equity {'n/a' if de is None else f'{de:.2f}'}, "
        f"net cash {'n/a' if net_cash is None else f'{net_cash / 1e9:,.1f}bn'}",
        debt_to_equity=de, net_cash=finite(net_cash),
    )
