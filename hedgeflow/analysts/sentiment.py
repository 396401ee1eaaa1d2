"""Sentiment analyst: the balance of insider trades and of news sentiment.

A provider without insider trades or news (the bundled data has neither)
gives ``None`` for that dataset: the sub-score then abstains and says so, and
with neither the signal is neutral at confidence 0. Nothing is inferred from
prices to fill the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.analysts.base import SIGNAL_THRESHOLD, analysis_of, rules_signal
from hedgeflow.analysts.common import insider_sub_score, news_sub_score
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
]


@dataclass(frozen=True)
class Thresholds:
    neutral_prior_headlines: float = 0.0  # news balance = (bullish - bearish) / (labelled + prior)
    signal_threshold: float = SIGNAL_THRESHOLD  # |weighted score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    insiders: float = 0.3
    news: float = 0.7


THRESHOLDS = Thresholds()
WEIGHTS = Weights()

NAME = "Sentiment Analyst"
DESCRIPTION = "Balance of insider trades and news; neutral when there is no such data."
PERSONA = (
    "You are a market sentiment analyst. You weigh what insiders do with their own money "
    "(buys against sells, by value) and what the news says (positive against negative "
    "articles), news 0.7 and insiders 0.3. A clear majority on one side sets the direction; "
    "a balance is neutral. When insider trades or news are missing you say so and never "
    "guess: with neither, the answer is neutral at confidence 0."
)


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    """Insider balance by transaction value (by shares when a trade lacks its value) and news balance."""
    subs = (
        insider_sub_score(snapshot, weight=weights.insiders, by_value=True),
        news_sub_score(snapshot, weight=weights.news, prior_headlines=thresholds.neutral_prior_headlines),
    )
    return analysis_of("sentiment", snapshot, subs, gather=False)


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    """The weighted mean of the two balances (``base.rules_signal``); neutral at 0 without data."""
    return rules_signal(analysis, threshold=thresholds.signal_threshold)
