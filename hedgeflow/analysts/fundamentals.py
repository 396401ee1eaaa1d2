"""Fundamentals analyst: profitability, growth, financial health and price ratios, by majority vote.

Reads the newest trailing-twelve-month ``FinancialMetrics``. Each sub-score is
the mean of its ratio checks that have data; each check maps a ratio linearly
from a bad level (-1) to a good level (+1). The signal is a vote of the four
sub-scores (each votes with its weight, 1 by default), not a weighted mean: a
company wins on breadth.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.analysts.base import (
    agent_signal,
    analysis_of,
    no_data,
    score_between,
    sub_score,
)
from hedgeflow.schemas import (
    AgentSignal,
    Analysis,
    FinancialMetrics,
    Signal,
    Snapshot,
    SubScore,
)

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "SUB_SCORES", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze",
    "derive_signal",
]

Band = tuple[float, float]  # (bad level scoring -1, good level scoring +1)


@dataclass(frozen=True)
class Thresholds:
    return_on_equity: Band = (0.0, 0.30)  # midpoint 15%
    net_margin: Band = (0.0, 0.30)  # midpoint 15%
    operating_margin: Band = (0.0, 0.30)  # midpoint 15%
    revenue_growth: Band = (-0.05, 0.20)  # midpoint 7.5% a year
    earnings_growth: Band = (-0.05, 0.20)
    book_value_growth: Band = (-0.05, 0.20)
    current_ratio: Band = (0.8, 2.0)  # midpoint 1.4
    debt_to_equity: Band = (1.5, 0.3)  # lower is better; midpoint 0.9
    fcf_to_eps: Band = (0.5, 1.1)  # free cash flow per share / EPS; midpoint 0.8
    price_to_earnings: Band = (35.0, 15.0)  # lower is better; midpoint 25; losses score -1
    price_to_book: Band = (5.0, 1.0)  # midpoint 3
    price_to_sales: Band = (8.0, 2.0)  # midpoint 5
    vote_band: float = 0.10  # a sub-score votes bullish above +band, bearish below -band
    margin_share: float = 0.5  # confidence = coverage x (margin_share x vote margin + rest x strength)


@dataclass(frozen=True)
class Weights:
    profitability: float = 1.0
    growth: float = 1.0
    financial_health: float = 1.0
    price_ratios: float = 1.0


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
SUB_SCORES = ("profitability", "growth", "financial_health", "price_ratios")

NAME = "Fundamentals Analyst"
DESCRIPTION = "Profitability, growth, financial health and price ratios by majority vote."
PERSONA = (
    "You are a fundamental equity analyst. You judge four things from trailing financial "
    "ratios: profitability (ROE above 15%, net and operating margins above 15%), growth "
    "(revenue, earnings and book value growing faster than about 7.5% a year), financial "
    "health (current ratio above 1.4, debt to equity below 0.9, free cash flow per share at "
    "least 80% of EPS) and price (P/E below 25, P/B below 3, P/S below 5). The call is a "
    "majority vote of the four; a split vote is neutral. Confidence rises with the margin "
    "of the vote and the strength of the winning scores."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    metrics = snapshot.latest_metrics
    if metrics is None:
        why = f"no financial metrics on or before {snapshot.end}"
        subs = tuple(no_data(name, why, weight=getattr(weights, name)) for name in SUB_SCORES)
        return analysis_of("fundamentals", snapshot, subs, gather=False)
    t, w = thresholds, weights
    subs = (
        _mean_of(
            "profitability",
            w.profitability,
            roe=(metrics.return_on_equity, t.return_on_equity),
            net_margin=(metrics.net_margin, t.net_margin),
            operating_margin=(metrics.operating_margin, t.operating_margin),
        ),
        _mean_of(
            "growth",
            w.growth,
            revenue_growth=(metrics.revenue_growth, t.revenue_growth),
            earnings_growth=(metrics.earnings_growth, t.earnings_growth),
            book_value_growth=(metrics.book_value_growth, t.book_value_growth),
        ),
        _mean_of(
            "financial_health",
            w.financial_health,
            current_ratio=(metrics.current_ratio, t.current_ratio),
            debt_to_equity=(metrics.debt_to_equity, t.debt_to_equity),
            fcf_to_eps=(_fcf_to_eps(metrics), t.fcf_to_eps),
        ),
        _price_ratios(metrics, t, w.price_ratios),
    )
    market_cap = snapshot.market_cap or metrics.market_cap
    return analysis_of("fundamentals", snapshot, subs, gather=False, market_cap=market_cap)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    """Majority vote of the sub-scores with data, each voting with its weight; confidence from
    the vote margin and score strength.

    confidence = 100 x coverage x (0.5 x |bull weight - bear weight| / voting weight + 0.5 x strength),
    where strength is the weighted mean |score| of the winning side (for a neutral call,
    1 - weighted mean |score|) and coverage the weight share of sub-scores with data. With the
    default weights (all 1) every sub-score is one vote.
    """
    scored = [s for s in analysis.sub_scores if s.score is not None]
    voting = sum(s.weight for s in scored)
    if not scored or voting == 0:
        reasons = "; ".join(f"{s.name}: {s.details}" for s in analysis.sub_scores)
        return agent_signal(analysis, "neutral", 0.0, f"No data to judge ({reasons}).")
    band = thresholds.vote_band
    bulls = [s for s in scored if (s.score or 0.0) > band]
    bears = [s for s in scored if (s.score or 0.0) < -band]
    bull_weight, bear_weight = sum(s.weight for s in bulls), sum(s.weight for s in bears)
    signal: Signal
    if bull_weight > bear_weight:
        signal, winners, losers = "bullish", bulls, bears
    elif bear_weight > bull_weight:
        signal, winners, losers = "bearish", bears, bulls
    else:
        signal, winners, losers = "neutral", [], bulls + bears
    if winners:
        strength = sum(s.weight * abs(s.score or 0.0) for s in winners) / sum(s.weight for s in winners)
    else:
        strength = 1.0 - sum(s.weight * abs(s.score or 0.0) for s in scored) / voting
    margin = abs(bull_weight - bear_weight) / voting
    coverage = voting / sum(s.weight for s in analysis.sub_scores)
    share = thresholds.margin_share
    confidence = 100.0 * coverage * (share * margin + (1.0 - share) * strength)
    text = f"{signal.capitalize()} by vote {len(bulls)} bullish to {len(bears)} bearish of {len(scored)} scored"
    if winners:
        text += ": " + "; ".join(_describe(s) for s in winners)
    if losers:
        text += (". Against: " if winners else ": ") + "; ".join(_describe(s) for s in losers)
    absent = [s.name for s in analysis.sub_scores if s.score is None]
    if absent:
        text += f". No data for {', '.join(absent)}"
    return agent_signal(analysis, signal, confidence, text + ".")


def _describe(sub: SubScore) -> str:
    return f"{sub.name} {sub.score:+.2f}" + (f" ({sub.details})" if sub.details else "")


def _mean_of(name: str, weight: float, **checks: tuple[float | None, Band]) -> SubScore:
    scores = {key: score_between(value, *band) for key, (value, band) in checks.items()}
    known = {key: s for key, s in scores.items() if s is not None}
    if not known:
        return no_data(name, f"{', '.join(checks)} not reported", weight=weight)
    details = ", ".join(f"{key} {checks[key][0]:.2f}" for key in known)
    return sub_score(
        name,
        sum(known.values()) / len(known),
        weight=weight,
        details=details,
        **{key: value for key, (value, _) in checks.items()},
    )


def _price_ratios(metrics: FinancialMetrics, t: Thresholds, weight: float) -> SubScore:
    pe = metrics.price_to_earnings_ratio
    pe_score = -1.0 if pe is not None and pe <= 0 else score_between(pe, *t.price_to_earnings)  # losses
    scores = {
        "pe": pe_score,
        "pb": score_between(metrics.price_to_book_ratio, *t.price_to_book),
        "ps": score_between(metrics.price_to_sales_ratio, *t.price_to_sales),
    }
    values = {"pe": pe, "pb": metrics.price_to_book_ratio, "ps": metrics.price_to_sales_ratio}
    known = [s for s in scores.values() if s is not None]
    if not known:
        return no_data("price_ratios", "P/E, P/B and P/S not reported", weight=weight)
    details = ", ".join(f"P/{k[1].upper()} {values[k]:.1f}" for k, s in scores.items() if s is not None)
    return sub_score(
        "price_ratios",
        sum(known) / len(known),
        weight=weight,
        details=details,
        price_to_earnings=pe,
        price_to_book=metrics.price_to_book_ratio,
        price_to_sales=metrics.price_to_sales_ratio,
    )


def _fcf_to_eps(metrics: FinancialMetrics) -> float | None:
    fcf, eps = metrics.free_cash_flow_per_share, metrics.earnings_per_share
    if fcf is None or eps is None or eps <= 0:
        return None
    return fcf / eps

