"""Bill Ackman: quality businesses, capital discipline, activism potential and a DCF."""

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
    latest,
    latest_metric,
    latest_ratio,
    market_cap,
    mean_score,
    series,
    share_positive,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    revenue_cagr_bad: float = 0.0
    revenue_cagr_good: float = 0.15
    operating_margin_bad: float = 0.05
    operating_margin_good: float = 0.20
    roe_bad: float = 0.05
    roe_good: float = 0.20
    debt_to_equity_bad: float = 2.0
    debt_to_equity_good: float = 0.5
    share_change_bad: float = 0.05  # share count growth over the record: dilution
    share_change_good: float = -0.05  # buybacks
    activism_growth: float = 0.15  # cumulative revenue growth that makes weak margins fixable
    activism_margin: float = 0.10  # operating margin below this leaves room for an activist
    discount_rate: float = 0.10
    growth: float = 0.06
    terminal_growth: float = 0.03
    dcf_years: int = 5
    safety_bad: float = -0.3
    safety_good: float = 0.3
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    quality: float = 1.0
    discipline: float = 1.0
    activism: float = 0.5
    valuation: float = 1.5


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Bill Ackman"
DESCRIPTION = "Quality businesses, capital discipline, activism potential and a DCF."
PERSONA = (
    "You are Bill Ackman, a concentrated, activist investor. "
    "Rules: own a few simple, predictable, free-cash-flow-generative businesses with durable moats, "
    "growing revenue, high operating margins and high returns on equity; demand capital discipline "
    "(moderate leverage, buybacks, dividends, no dilution); look for fixable problems where an activist "
    "could lift weak margins on a growing business; value the company by a conservative DCF of free "
    "cash flow and buy only with a margin of safety. Be decisive and high-conviction."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _quality(snapshot, t, w.quality),
        _discipline(snapshot, t, w.discipline),
        _activism(snapshot, t, w.activism),
        _valuation(snapshot, t, w.valuation),
    )
    return analysis_of("bill_ackman", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _operating_margin(snapshot: Snapshot) -> float | None:
    value = latest_ratio(snapshot.line_items, "operating_income", "revenue")
    return value if value is not None else latest_metric(snapshot, "operating_margin")


def _quality(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    revenue_cagr = growth_cagr(items, "revenue")
    margin = _operating_margin(snapshot)
    fcf_share = share_positive(series(items, "free_cash_flow"))
    roe = latest_metric(snapshot, "return_on_equity")
    if roe is None:
        roe = latest_ratio(items, "net_income", "shareholders_equity")
    score = mean_score([
        score_between(revenue_cagr, t.revenue_cagr_bad, t.revenue_cagr_good),
        score_between(margin, t.operating_margin_bad, t.operating_margin_good),
        None if fcf_share is None else 2.0 * fcf_share - 1.0,
        score_between(roe, t.roe_bad, t.roe_good),
    ])
    if score is None:
        return no_data("quality", "no revenue, margin, free cash flow or ROE data", weight=weight)
    return sub_score(
        "quality", score, weight=weight,
        details=f"revenue CAGR {revenue_cagr or 0:+.1%}, operating margin {margin or 0:.1%}, "
        f"FCF positive in {fcf_share or 0:.0%} of years, ROE {roe or 0:.1%}",
        revenue_cagr=revenue_cagr, operating_margin=margin, fcf_positive_share=fcf_share, roe=roe,
    )


def _discipline(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    de = debt_to_equity(snapshot)
    shares = series(items, "outstanding_shares")
    share_change = finite(finmath.growth_rate(shares[-1], shares[0])) if len(shares) >= 2 else None
    dividends = latest(items, "dividends_and_other_cash_distributions")
    score = mean_score([
        score_between(de, t.debt_to_equity_bad, t.debt_to_equity_good),
        score_between(share_change, t.share_change_bad, t.share_change_good),
        None if dividends is None else (0.5 if dividends < 0 else 0.0),  # paying out is a plus, not paying no minus
    ])
    if score is None:
        return no_data("discipline", "no leverage, share count or dividend data", weight=weight)
    return sub_score(
        "discipline", score, weight=weight,
        details=f"debt/equity {de or 0:.2f}, share count {share_change or 0:+.1%}, "
        f"dividends {'paid' if dividends is not None and dividends < 0 else 'none or unknown'}",
        debt_to_equity=de, share_count_change=share_change, dividends=dividends,
    )


def _activism(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    revenue = series(snapshot.line_items, "revenue")
    margin = _operating_margin(snapshot)
    if len(revenue) < 2 or margin is None:
        return no_data("activism", "no revenue history or operating margin", weight=weight)
    growth = finmath.growth_rate(revenue[-1], revenue[0])
    opportunity = finite(growth) is not None and growth > t.activism_growth and margin < t.activism_margin
    return sub_score(
        "activism", 1.0 if opportunity else 0.0, weight=weight,
        details=("growing revenue with weak margins: room for an activist" if opportunity
                 else "no activism case (margins already strong or no growth)"),
        revenue_growth_total=growth, operating_margin=margin,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    fcf = latest(snapshot.line_items, "free_cash_flow")
    cap = market_cap(snapshot)
    if fcf is None or cap is None:
        return no_data("valuation", "free cash flow or market cap unavailable", weight=weight)
    value = finmath.dcf_value(fcf, t.growth, t.discount_rate, t.terminal_growth, t.dcf_years)
    if finite(value) is None:
        return sub_score("valuation", -1.0, weight=weight, details="free cash flow is not positive",
                         free_cash_flow=fcf, market_cap=cap)
    safety = finmath.margin_of_safety(value, cap)
    return sub_score(
        "valuation", score_between(safety, t.safety_bad, t.safety_good), weight=weight,
        details=f"FCF DCF {value / 1e9:,.1f}bn vs market cap {cap / 1e9:,.1f}bn: margin of safety {safety:+.0%}",
        free_cash_flow=fcf, intrinsic_value=value, market_cap=cap, margin_of_safety=safety,
    )
