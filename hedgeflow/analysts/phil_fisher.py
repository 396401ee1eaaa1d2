"""Phil Fisher: long-term growth quality, stable margins and efficient management."""

from __future__ import annotations

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
    insider_sub_score,
    latest,
    latest_metric,
    latest_ratio,
    market_cap,
    mean_score,
    news_sub_score,
    ratio_series,
    series,
    share_positive,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_growth_bad: float = 0.0  # CAGR
    revenue_growth_good: float = 0.15
    earnings_growth_bad: float = 0.0
    earnings_growth_good: float = 0.20
    rd_intensity_bad: float = 0.0  # R&D / revenue: research that builds future products
    rd_intensity_good: float = 0.10
    min_periods: int = 3
    operating_margin_bad: float = 0.05
    operating_margin_good: float = 0.25
    margin_cv_bad: float = 0.5  # coefficient of variation of operating margin
    margin_cv_good: float = 0.1
    gross_margin_bad: float = 0.2
    gross_margin_good: float = 0.5
    roe_bad: float = 0.05
    roe_good: float = 0.20
    debt_to_equity_bad: float = 1.5
    debt_to_equity_good: float = 0.3
    pe_bad: float = 50.0  # Fisher pays up for quality: -1 at 50x, +1 at 20x
    pe_good: float = 20.0
    pfcf_bad: float = 50.0
    pfcf_good: float = 20.0
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    growth_quality: float = 0.30
    margin_stability: float = 0.25
    management_efficiency: float = 0.20
    valuation: float = 0.15
    insiders: float = 0.05
    news: float = 0.05


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Phil Fisher"
DESCRIPTION = "Long-term growth quality, stable margins and efficient management."
PERSONA = (
    "You are Phil Fisher, author of Common Stocks and Uncommon Profits. You buy outstanding growth "
    "companies to hold for many years and learn them by 'scuttlebutt'. Rules: sustained revenue and "
    "earnings growth backed by serious R&D; high, stable margins; capable management shown by high "
    "returns on equity, sober leverage and steady free cash flow; willing to pay a fair premium for "
    "quality but not any price. Weigh growth 30%, margins 25%, management 20%, valuation 15%, insiders "
    "and sentiment 5% each. Be methodical and long-term."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _growth_quality(snapshot, t, w.growth_quality),
        _margin_stability(snapshot, t, w.margin_stability),
        _management_efficiency(snapshot, t, w.management_efficiency),
        _valuation(snapshot, t, w.valuation),
        insider_sub_score(snapshot, weight=w.insiders),
        news_sub_score(snapshot, weight=w.news),
    )
    return analysis_of("phil_fisher", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _growth_quality(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    revenue = growth_cagr(items, "revenue")
    earnings = growth_cagr(items, "net_income")
    rd = latest_ratio(items, "research_and_development", "revenue")
    score = mean_score([
        score_between(revenue, t.revenue_growth_bad, t.revenue_growth_good),
        score_between(earnings, t.earnings_growth_bad, t.earnings_growth_good),
        score_between(rd, t.rd_intensity_bad, t.rd_intensity_good),
    ])
    if score is None:
        return no_data("growth_quality", "no revenue, earnings or R&D history", weight=weight)
    return sub_score(
        "growth_quality", score, weight=weight,
        details=f"revenue CAGR {'n/a' if revenue is None else f'{revenue:+.1%}'}, earnings CAGR "
        f"{'n/a' if earnings is None else f'{earnings:+.1%}'}, R&D {'n/a' if rd is None else f'{rd:.1%}'} of revenue",
        revenue_cagr=revenue, earnings_cagr=earnings, rd_intensity=rd,
    )


def _margin_stability(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    operating = ratio_series(snapshot.line_items, "operating_income", "revenue")
    gross = ratio_series(snapshot.line_items, "gross_profit", "revenue")
    if not operating and not gross:
        return no_data("margin_stability", "no operating or gross margin", weight=weight)
    level = operating[-1] if operating else None
    cv = finite(finmath.coefficient_of_variation(operating)) if len(operating) >= t.min_periods else None
    if cv is not None and level is not None and level <= 0:
        cv = None  # steady losses are not stable margins
    score = mean_score([
        score_between(level, t.operating_margin_bad, t.operating_margin_good),
        score_between(cv, t.margin_cv_bad, t.margin_cv_good),
        score_between(gross[-1] if gross else None, t.gross_margin_bad, t.gross_margin_good),
    ])
    return sub_score(
        "margin_stability", score, weight=weight,
        details=f"operating margin {'n/a' if level is None else f'{level:.1%}'} "
        f"(CV {'n/a' if cv is None else f'{cv:.2f}'}), "
        f"gross margin {'n/a' if not gross else f'{gross[-1]:.1%}'}",
        operating_margin=level, operating_margin_cv=cv, gross_margin=gross[-1] if gross else None,
    )


def _management_efficiency(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    roe = latest_metric(snapshot, "return_on_equity")
    if roe is None:
        roe = latest_ratio(snapshot.line_items, "net_income", "shareholders_equity")
    de = debt_to_equity(snapshot)
    fcf_share = share_positive(series(snapshot.line_items, "free_cash_flow"))
    score = mean_score([
        score_between(roe, t.roe_bad, t.roe_good),
        score_between(de, t.debt_to_equity_bad, t.debt_to_equity_good),
        None if fcf_share is None else 2.0 * fcf_share - 1.0,
    ])
    if score is None:
        return no_data("management_efficiency", "no ROE, leverage or free cash flow data", weight=weight)
    return sub_score(
        "management_efficiency", score, weight=weight,
        details=f"ROE {'n/a' if roe is None else f'{roe:.1%}'}, debt/equity {'n/a' if de is None else f'{de:.2f}'}, "
        f"FCF positive in {fcf_share or 0:.0%} of years",
        roe=roe, debt_to_equity=de, fcf_positive_share=fcf_share,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    cap = market_cap(snapshot)
    income = latest(snapshot.line_items, "net_income")
    fcf = latest(snapshot.line_items, "free_cash_flow")
    if cap is None or (income is None and fcf is None):
        return no_data("valuation", "market cap, earnings or free cash flow unavailable", weight=weight)
    pe = cap / income if income is not None and income > 0 else None
    pfcf = cap / fcf if fcf is not None and fcf > 0 else None
    score = mean_score([
        score_between(pe, t.pe_bad, t.pe_good) if income is None or income > 0 else -1.0,
        score_between(pfcf, t.pfcf_bad, t.pfcf_good) if fcf is None or fcf > 0 else -1.0,
    ])
    return sub_score(
        "valuation", score, weight=weight,
        details=f"P/E {'n/a' if pe is None else f'{pe:.1f}'}, P/FCF {'n/a' if pfcf is None else f'{pfcf:.1f}'}",
        pe_ratio=pe, price_to_fcf=pfcf, market_cap=cap,
    )
