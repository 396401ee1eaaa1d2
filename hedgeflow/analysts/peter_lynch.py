"""Peter Lynch: growth at a reasonable price, PEG, P/E, fundamentals, sentiment and insiders."""

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
    growth_cagr,
    insider_sub_score,
    latest,
    latest_ratio,
    market_cap,
    mean_score,
    news_sub_score,
    series,
    share_positive,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_growth_bad: float = -0.05  # revenue CAGR: neutral at 7.5%, +1 at 20% (a fast grower)
    revenue_growth_good: float = 0.20
    earnings_growth_bad: float = -0.05  # net income CAGR: neutral at 10%
    earnings_growth_good: float = 0.25
    peg_bad: float = 2.0  # P/E over earnings growth in percent: +1 at 0.75, -1 at 2
    peg_good: float = 0.75
    pe_bad: float = 40.0
    pe_good: float = 15.0
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.3
    operating_margin_bad: float = 0.05
    operating_margin_good: float = 0.20
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    growth: float = 1.0
    valuation: float = 1.5
    fundamentals: float = 1.0
    news: float = 0.5
    insiders: float = 0.5


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Peter Lynch"
DESCRIPTION = "Growth at a reasonable price: PEG, P/E, fundamentals, sentiment and insiders."
PERSONA = (
    "You are Peter Lynch. Invest in what you know and look for ten-baggers among steady growers "
    "at sensible prices. Rules: the PEG ratio (P/E over earnings growth) is your yardstick, under 1 is "
    "attractive and over 2 is expensive; prefer consistent revenue and earnings growth, low debt, "
    "healthy margins and positive free cash flow; note what insiders do and how the news feels, but do "
    "not follow the crowd. Speak plainly, as if explaining the business to a neighbour."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _growth(snapshot, t, w.growth),
        _valuation(snapshot, t, w.valuation),
        _fundamentals(snapshot, t, w.fundamentals),
        news_sub_score(snapshot, weight=w.news),
        insider_sub_score(snapshot, weight=w.insiders),
    )
    return analysis_of("peter_lynch", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _growth(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    revenue = growth_cagr(snapshot.line_items, "revenue")
    earnings = growth_cagr(snapshot.line_items, "net_income")
    score = mean_score([
        score_between(revenue, t.revenue_growth_bad, t.revenue_growth_good),
        score_between(earnings, t.earnings_growth_bad, t.earnings_growth_good),
    ])
    if score is None:
        return no_data("growth", "fewer than two years of positive revenue or earnings", weight=weight)
    return sub_score(
        "growth", score, weight=weight,
        details=f"revenue CAGR {'n/a' if revenue is None else f'{revenue:+.1%}'}, "
        f"earnings CAGR {'n/a' if earnings is None else f'{earnings:+.1%}'}",
        revenue_cagr=revenue, earnings_cagr=earnings,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    cap = market_cap(snapshot)
    income = latest(snapshot.line_items, "net_income")
    if cap is None or income is None:
        return no_data("valuation", "market cap or net income unavailable", weight=weight)
    if income <= 0:
        return sub_score("valuation", -1.0, weight=weight, details="no earnings: P/E and PEG undefined",
                         net_income=income, market_cap=cap)
    pe = cap / income
    growth = growth_cagr(snapshot.line_items, "net_income")
    peg = pe / (growth * 100.0) if growth is not None and growth > 0 else None
    score = mean_score([score_between(peg, t.peg_bad, t.peg_good), score_between(pe, t.pe_bad, t.pe_good)])
    return sub_score(
        "valuation", score, weight=weight,
        details=f"P/E {pe:.1f}, PEG {'n/a (earnings not growing)' if peg is None else f'{peg:.2f}'}",
        pe_ratio=pe, peg_ratio=peg, earnings_cagr=growth,
    )


def _fundamentals(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    de = debt_to_equity(snapshot)
    margin = latest_ratio(snapshot.line_items, "operating_income", "revenue")
    fcf_share = share_positive(series(snapshot.line_items, "free_cash_flow"))
    score = mean_score([
        score_between(de, t.debt_to_equity_bad, t.debt_to_equity_good),
        score_between(margin, t.operating_margin_bad, t.operating_margin_good),
        None if fcf_share is None else 2.0 * fcf_share - 1.0,
    ])
    if score is None:
        return no_data("fundamentals", "no leverage, margin or free cash flow data", weight=weight)
    return sub_score(
        "fundamentals", score, weight=weight,
        details=f"debt/equity {'n/a' if de is None else f'{de:.2f}'}, operating margin "
        f"{'n/a' if margin is None else f'{margin:.1%}'}, FCF positive in {fcf_share or 0:.0%} of years",
        debt_to_equity=de, operating_margin=margin, fcf_positive_share=fcf_share,
    )
