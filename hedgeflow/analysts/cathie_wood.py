"""Cathie Wood: disruptive growth, revenue acceleration, R&D intensity and a high-growth DCF."""

from __future__ import annotations

import itertools
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
    capex_intensity,
    finite,
    growth_cagr,
    latest,
    market_cap,
    mean_score,
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
    growth_bad: float = 0.0  # latest yearly revenue growth
    growth_good: float = 0.30
    acceleration_bad: float = -0.10  # latest growth minus the year before's
    acceleration_good: float = 0.10
    gross_margin_bad: float = 0.25
    gross_margin_good: float = 0.60
    rd_intensity_bad: float = 0.0  # R&D / revenue
    rd_intensity_good: float = 0.15
    rd_growth_bad: float = 0.0  # R&D CAGR
    rd_growth_good: float = 0.25
    capex_intensity_bad: float = 0.0  # |capex| / revenue: investment in the future scores well
    capex_intensity_good: float = 0.08
    growth: float = 0.20  # high-growth DCF of free cash flow
    discount_rate: float = 0.12
    terminal_growth: float = 0.05
    dcf_years: int = 7
    safety_bad: float = -0.5
    safety_good: float = 0.5
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    disruptive_potential: float = 1.5
    innovation_growth: float = 1.0
    valuation: float = 1.0


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "Cathie Wood"
DESCRIPTION = "Disruptive growth: revenue acceleration, R&D intensity and a high-growth DCF."
PERSONA = (
    "You are Cathie Wood of ARK Invest. You back disruptive innovation (AI, robotics, genomics, energy "
    "storage, blockchain) over five-year horizons. Rules: look for accelerating revenue growth, widening "
    "gross margins and heavy, growing R&D; reward companies that reinvest (capex, R&D) while moving "
    "toward free cash flow; value them on a high-growth DCF rather than today's multiples; tolerate "
    "volatility and short-term losses when the addressable market is exponential. Be bold and conviction-led."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    t, w = thresholds, weights
    subs = (
        _disruptive_potential(snapshot, t, w.disruptive_potential),
        _innovation_growth(snapshot, t, w.innovation_growth),
        _valuation(snapshot, t, w.valuation),
    )
    return analysis_of("cathie_wood", snapshot, subs)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)


def _yearly_growth(values: list[float]) -> list[float]:
    rates = (finite(finmath.growth_rate(new, old)) for old, new in itertools.pairwise(values))
    return [r for r in rates if r is not None]


def _disruptive_potential(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    growth = _yearly_growth(series(items, "revenue"))
    latest_growth = growth[-1] if growth else None
    acceleration = growth[-1] - growth[-2] if len(growth) >= 2 else None
    gross = ratio_series(items, "gross_profit", "revenue")
    gross_margin = gross[-1] if gross else None
    rd = ratio_series(items, "research_and_development", "revenue")
    rd_intensity = rd[-1] if rd else None
    score = mean_score([
        score_between(latest_growth, t.growth_bad, t.growth_good),
        score_between(acceleration, t.acceleration_bad, t.acceleration_good),
        score_between(gross_margin, t.gross_margin_bad, t.gross_margin_good),
        score_between(rd_intensity, t.rd_intensity_bad, t.rd_intensity_good),
    ])
    if score is None:
        return no_data("disruptive_potential", "no revenue growth, margin or R&D data", weight=weight)
    return sub_score(
        "disruptive_potential", score, weight=weight,
        details=f"revenue growth {latest_growth or 0:+.1%} (acceleration {acceleration or 0:+.1%}), "
        f"gross margin {gross_margin or 0:.1%}, "
        f"R&D {'n/a' if rd_intensity is None else f'{rd_intensity:.1%}'} of revenue",
        revenue_growth=latest_growth, revenue_acceleration=acceleration,
        gross_margin=gross_margin, rd_intensity=rd_intensity,
    )


def _innovation_growth(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    items = snapshot.line_items
    rd_growth = growth_cagr(items, "research_and_development")
    fcf = series(items, "free_cash_flow")
    fcf_share = share_positive(fcf)
    fcf_improving = None if len(fcf) < 2 else (0.5 if fcf[-1] > fcf[0] else -0.5)
    capex = capex_intensity(snapshot)
    score = mean_score([
        score_between(rd_growth, t.rd_growth_bad, t.rd_growth_good),
        None if fcf_share is None else 2.0 * fcf_share - 1.0,
        fcf_improving,
        score_between(capex, t.capex_intensity_bad, t.capex_intensity_good),
    ])
    if score is None:
        return no_data("innovation_growth", "no R&D, free cash flow or capex data", weight=weight)
    return sub_score(
        "innovation_growth", score, weight=weight,
        details=f"R&D CAGR {'n/a' if rd_growth is None else f'{rd_growth:+.1%}'}, FCF positive in "
        f"{fcf_share or 0:.0%} of years, capex {capex or 0:.1%} of revenue",
        rd_cagr=rd_growth, fcf_positive_share=fcf_share, capex_intensity=capex,
    )


def _valuation(snapshot: Snapshot, t: Thresholds, weight: float) -> SubScore:
    fcf = latest(snapshot.line_items, "free_cash_flow")
    cap = market_cap(snapshot)
    if fcf is None or cap is None:
        return no_data("valuation", "free cash flow or market cap unavailable", weight=weight)
    value = finmath.dcf_value(fcf, t.growth, t.discount_rate, t.terminal_growth, t.dcf_years)
    if finite(value) is None:
        return sub_score("valuation", -0.5, weight=weight, details="free cash flow not yet positive",
                         free_cash_flow=fcf, market_cap=cap)
    safety = finmath.margin_of_safety(value, cap)
    return sub_score(
        "valuation", score_between(safety, t.safety_bad, t.safety_good), weight=weight,
        details=f"high-growth DCF {value / 1e9:,.1f}bn at {t.growth:.0%} growth vs market cap "
        f"{cap / 1e9:,.1f}bn: margin of safety {safety:+.0%}",
        free_cash_flow=fcf, intrinsic_value=value, market_cap=cap, margin_of_safety=safety,
    )
