"""Rakesh Jhunjhunwala: profitable growth with a strong balance sheet and a quality-adjusted DCF."""

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
    current_ratio,
    finite,
    growth_cagr,
    latest,
    latest_metric,
    latest_ratio,
    market_cap,
    mean_score,
    ratio_series,
    series,
    share_positive,
    up_share,
)
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot, SubScore

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    roe_bad: float = 0.08  # -1 at 8%, +1 at 20%
    roe_good: float = 0.20
    operating_margin_bad: float = 0.05
    operating_margin_good: float = 0.20
    cagr_bad: float = 0.0  # revenue and net income CAGR: -1 at 0%, +1 at 15%
    cagr_good: float = 0.15
    up_share_bad: float = 0.4  # share of years whose revenue rose
    up_share_good: float = 1.0
    liabilities_to_assets_bad: float = 0.8  # lower is better
    liabilities_to_assets_good: float = 0.4
    current_ratio_bad: float = 0.8
    current_ratio_good: float = 2.0
    fcf_positive_share_bad: float = 0.5
    fcf_positive_share_good: float = 1.0
    fcf_conversion_bad: float = 0.5  # free cash flow / net income
    fcf_conversion_good: float = 1.0
    share_count_cagr_bad: float = 0.03  # dilution above 3% a year is -1, a 2% yearly shrink is +1
    share_count_cagr_good: float = -0.02
    base_discount: float = 0.12  # quality-adjusted: 10% for the best quality, 14% for the worst
    discount_quality_step: float = 0.02
    max_growth: float = 0.15
    terminal_growth: float = 0.03
    dcf_years: int = 5
    safety_bad: float = -0.3
    safety_good: float = 0.3
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    profitability: float = 1.0
    growth: float = 1.0
    balance_sheet: float = 0.8
    cash_flow: float = 0.8
    management: float = 0.5
    intrinsic_value: float = 1.2


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Rakesh Jhunjhunwala"
DESCRIPTION = "Profitable growth with a strong balance sheet and a quality-adjusted DCF."
PERSONA = (
    "You are Rakesh Jhunjhunwala, the Big Bull: a conviction investor in growing, well-run companies. "
    "Rules: demand ROE above 15% and healthy operating margins; want revenue and earnings compounding "
    "consistently; insist on a strong balance sheet (liabilities well under assets, current ratio "
    "above 1.5) and real free cash flow; favour managements that buy back shares and do not dilute; "
    "value the business on a DCF whose discount rate is lower for higher quality, and buy only with a "
    "margin of safety of about 30%. Be patient and bold when quality and price line up."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    profitability = _profitability(snapshot, t, w.profitability)
    balance = _balance_sheet(snapshot, t, w.balance_sheet)
    subs = (
        profitability,
        _growth(snapshot, t, w.growth),
        balance,
        _cash_flow(snapshot, t, w.cash_flow),
        _management(snapshot, t, w.management),
        _intrinsic_value(snapshot, t, w.intrinsic_value, mean_score([profitability.score, balance.score])),
    )
    return analysis_of("rakesh_jhunjhunwala", snapshot, subs, market_cap=market_cap(snapshot))


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _profitability(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "profitability"
    roe = latest_metric(snapshot, "return_on_equity")
    if roe is None:
        roe = latest_ratio(snapshot.line_items, "net_income", "shareholders_equity")
    margin = latest_metric(snapshot, "operating_margin")
    if margin is None:
        margin = latest_ratio(snapshot.line_items, "operating_income", "revenue")
    score = mean_score(
        [
            score_between(roe, t.roe_bad, t.roe_good),
            score_between(margin, t.operating_margin_bad, t.operating_margin_good),
        ]
    )
    if score is None:
        return no_data(name, "no return on equity or operating margin", weight=weight)
    shown = [
        f"ROE {roe:.1%}" if roe is not None else "ROE unknown",
        f"operating margin {margin:.1%}" if margin is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s), roe=roe, operating_margin=margin
    )


def _growth(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "growth"
    revenue_cagr = growth_cagr(snapshot.line_items, "revenue")
    income_cagr = growth_cagr(snapshot.line_items, "net_income")
    consistency = up_share(series(snapshot.line_items, "revenue"))
    score = mean_score(
        [
            score_between(revenue_cagr, t.cagr_bad, t.cagr_good),
            score_between(income_cagr, t.cagr_bad, t.cagr_good),
            score_between(consistency, t.up_share_bad, t.up_share_good),
        ]
    )
    if score is None:
        return no_data(name, "fewer than two years of revenue and earnings", weight=weight)
    shown = [
        f"revenue CAGR {revenue_cagr:.1%}" if revenue_cagr is not None else "",
        f"net income CAGR {income_cagr:.1%}" if income_cagr is not None else "",
        f"revenue rose in {consistency:.0%} of years" if consistency is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        revenue_cagr=revenue_cagr, net_income_cagr=income_cagr, revenue_up_share=consistency,
    )


def _balance_sheet(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "balance_sheet"
    liabilities = latest_ratio(snapshot.line_items, "total_liabilities", "total_assets")
    liquidity = current_ratio(snapshot)
    score = mean_score(
        [
            score_between(liabilities, t.liabilities_to_assets_bad, t.liabilities_to_assets_good),
            score_between(liquidity, t.current_ratio_bad, t.current_ratio_good),
        ]
    )
    if score is None:
        return no_data(name, "no liabilities, assets or current ratio reported", weight=weight)
    shown = [
        f"liabilities {liabilities:.0%} of assets" if liabilities is not None else "",
        f"current ratio {liquidity:.2f}" if liquidity is not None else "current ratio not reported",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        liabilities_to_assets=liabilities, current_ratio=liquidity,
    )


def _cash_flow(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "cash_flow"
    positive_share = share_positive(series(snapshot.line_items, "free_cash_flow"))
    conversions = ratio_series(snapshot.line_items, "free_cash_flow", "net_income")
    conversion = sum(conversions) / len(conversions) if conversions else None
    score = mean_score(
        [
            score_between(positive_share, t.fcf_positive_share_bad, t.fcf_positive_share_good),
            score_between(conversion, t.fcf_conversion_bad, t.fcf_conversion_good),
        ]
    )
    if score is None:
        return no_data(name, "no free cash flow reported", weight=weight)
    shown = [
        f"FCF positive in {positive_share:.0%} of years" if positive_share is not None else "",
        f"FCF / net income {conversion:.2f}" if conversion is not None else "",
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        fcf_positive_share=positive_share, fcf_conversion=conversion,
    )


def _management(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    name = "management"
    share_cagr = growth_cagr(snapshot.line_items, "outstanding_shares")
    buyback = latest(snapshot.line_items, "issuance_or_purchase_of_equity_shares")
    dividends = latest(snapshot.line_items, "dividends_and_other_cash_distributions")
    returns_cash = None if buyback is None and dividends is None else ((buyback or 0.0) < 0 or (dividends or 0.0) < 0)
    score = mean_score(
        [
            score_between(share_cagr, t.share_count_cagr_bad, t.share_count_cagr_good),
            None if returns_cash is None else (0.5 if returns_cash else -0.5),
        ]
    )
    if score is None:
        return no_data(name, "no share count, buyback or dividend history", weight=weight)
    shown = [
        f"share count {share_cagr:+.1%} a year" if share_cagr is not None else "",
        "returns cash to shareholders" if returns_cash else ("returns no cash" if returns_cash is not None else ""),
    ]
    return sub_score(
        name, score, weight=weight, details=", ".join(s for s in shown if s),
        share_count_cagr=share_cagr, buyback_latest=buyback, dividends_latest=dividends,
    )


def _intrinsic_value(snapshot: Snapshot, t: Thresholds, weight: float, quality: float | None) -> SubScore:
    name = "intrinsic_value"
    income, cap = latest(snapshot.line_items, "net_income"), market_cap(snapshot)
    if income is None or income <= 0 or cap is None:
        return no_data(name, "needs positive net income and a market cap", weight=weight)
    q = quality if quality is not None else 0.0
    discount = t.base_discount - t.discount_quality_step * q
    growth = max(0.0, min(t.max_growth, growth_cagr(snapshot.line_items, "net_income") or 0.0))
    growth *= 0.5 + 0.5 * (q + 1.0) / 2.0  # high quality keeps its growth, low quality keeps half
    value = finmath.dcf_value(income, growth, discount, t.terminal_growth, t.dcf_years)
    safety = finite(finmath.margin_of_safety(value, cap))
    if safety is None:
        return no_data(name, "the DCF could not be computed", weight=weight)
    return sub_score(
        name,
        score_between(safety, t.safety_bad, t.safety_good),
        weight=weight,
        details=f"quality {q:+.2f}: discount {discount:.1%}, growth {growth:.1%}; margin of safety {safety:+.0%}",
        quality_score=quality,
        dcf_discount_rate=discount,
        dcf_growth=growth,
        intrinsic_value=value,
        margin_of_safety=safety,
    )
