"""Benjamin Graham: earnings stability, financial strength and a discount to NCAV or the Graham number."""

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
    vote,
)
from hedgeflow.analysts.common import (
    finite,
    latest,
    latest_metric,
    latest_price,
    latest_ratio,
    market_cap,
    ratio_series,
    series,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "eps_series",
]


@dataclass(frozen=True)
class Thresholds:
    min_years: int = 3  # years of EPS needed to call earnings stable
    min_current_ratio: float = 2.0
    max_debt_ratio: float = 0.5  # total liabilities / total assets
    dividend_share: float = 0.5  # dividends paid in at least half of the years
    graham_safety_bad: float = -0.5  # (Graham number - price) / price: -1 at -50%, +1 at +50%
    graham_safety_good: float = 0.5
    ncav_ratio_bad: float = 0.33  # NCAV / market cap: +1 at 1 (a net-net), -1 at a third
    ncav_ratio_good: float = 1.0
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    earnings_stability: float = 1.0
    financial_strength: float = 1.0
    valuation: float = 1.5


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Ben Graham"
DESCRIPTION = "Earnings stability, financial strength and a discount to NCAV or the Graham number."
PERSONA = (
    "You are Benjamin Graham, father of value investing. You insist on a margin of safety. "
    "Rules: earnings positive in every year on record and higher than at the start; a current ratio "
    "of at least 2, liabilities under half of assets and a record of dividends; buy only below "
    "intrinsic value: ideally below net current asset value (a net-net), otherwise below the Graham "
    "number sqrt(22.5 x EPS x book value per share). Ignore stories and momentum; price is what you pay."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _earnings_stability(snapshot, t, w.earnings_stability),
        _financial_strength(snapshot, t, w.financial_strength),
        _valuation(snapshot, t, w.valuation),
    )
    return analysis_of("ben_graham", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def eps_series(snapshot: Snapshot) -> list[float]:
    """Annual earnings per share, oldest first: net income / shares outstanding per year."""
    return ratio_series(snapshot.line_items, "net_income", "outstanding_shares")


def _earnings_stability(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    eps = eps_series(snapshot)
    if len(eps) < 2:
        eps = series(snapshot.metrics, "earnings_per_share")[-1:]
    if not eps:
        return no_data("earnings_stability", "no earnings per share reported", weight=weight)
    positive = sum(1 for e in eps if e > 0)
    checks = [e > 0 for e in eps]
    grew = eps[-1] > eps[0] if len(eps) >= 2 else None
    score = vote([*checks, grew])
    if len(eps) < t.min_years and score is not None:
        score *= 0.5  # too short a record to call stable
    return sub_score(
        "earnings_stability", score, weight=weight,
        details=f"EPS positive in {positive} of {len(eps)} years"
        + ("" if grew is None else f", {'up' if grew else 'down'} since the first"),
        eps_latest=eps[-1], eps_first=eps[0], eps_positive_years=float(positive), eps_years=float(len(eps)),
    )


def _financial_strength(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    current = latest_ratio(items, "current_assets", "current_liabilities")
    if current is None:
        current = latest_metric(snapshot, "current_ratio")
    debt_ratio = latest_ratio(items, "total_liabilities", "total_assets")
    dividends = [item.dividends_and_other_cash_distributions for item in items]
    known = [d for d in (finite(x) for x in dividends) if d is not None]
    paid_share = sum(1 for d in known if d < 0) / len(known) if known else None
    checks = [
        None if current is None else current >= t.min_current_ratio,
        None if debt_ratio is None else debt_ratio < t.max_debt_ratio,
        None if paid_share is None else paid_share >= t.dividend_share,
    ]
    if all(c is None for c in checks):
        return no_data("financial_strength", "no current assets, liabilities or dividend data", weight=weight)
    return sub_score(
        "financial_strength", vote(checks), weight=weight,
        details=f"current ratio {finite(current) or 0:.2f}, liabilities/assets {finite(debt_ratio) or 0:.2f}, "
        f"dividends in {paid_share or 0:.0%} of years",
        current_ratio=current, debt_ratio=debt_ratio, dividend_years_share=paid_share,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    cap = market_cap(snapshot)
    current_assets, liabilities = latest(items, "current_assets"), latest(items, "total_liabilities")
    ncav = current_assets - liabilities if current_assets is not None and liabilities is not None else None
    ncav_ratio = ncav / cap if ncav is not None and cap is not None else None
    eps = eps_series(snapshot)
    book = ratio_series(items, "shareholders_equity", "outstanding_shares")
    number = finite(finmath.graham_number(eps[-1] if eps else None, book[-1] if book else None))
    shares = latest(items, "outstanding_shares")
    price = cap / shares if cap is not None and shares else latest_price(snapshot)
    safety = (number - price) / price if number is not None and price else None
    if eps and eps[-1] <= 0:
        safety = -1.0  # no earnings: no Graham number, nothing to be safe against
    ncav_score = score_between(ncav_ratio, t.ncav_ratio_bad, t.ncav_ratio_good)
    graham_score = score_between(safety, t.graham_safety_bad, t.graham_safety_good)
    parts = [s for s in (ncav_score, graham_score) if s is not None]
    if not parts:
        return no_data("valuation", "neither NCAV nor the Graham number can be computed", weight=weight)
    score = max(parts)  # either test is enough: a net-net or a price below the Graham number
    return sub_score(
        "valuation", score, weight=weight,
        details=f"NCAV {'n/a' if ncav_ratio is None else f'{ncav_ratio:.0%}'} of market cap; "
        f"Graham number {'n/a' if number is None else f'{number:,.2f}'} vs price {finite(price) or 0:,.2f}",
        ncav=ncav, ncav_to_market_cap=ncav_ratio, graham_number=number, price=price, graham_margin_of_safety=safety,
    )
