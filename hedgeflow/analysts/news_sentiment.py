"""News sentiment: the balance of labelled headlines; neutral at confidence 0 without news."""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.analysts.base import SIGNAL_THRESHOLD, analysis_of, rules_signal
from hedgeflow.analysts.common import news_sub_score
from hedgeflow.schemas import AgentSignal, Analysis, Snapshot

__all__ = [
    "DESCRIPTION", "NAME", "PERSONA", "THRESHOLDS", "WEIGHTS", "Thresholds", "Weights", "analyze", "derive_signal",
    "unlabelled_headlines",
]


@dataclass(frozen=True)
class Thresholds:
    # Shrinkage: the balance is (bullish - bearish) / (labelled + prior), so a handful of
    # headlines cannot make a confident call (one bullish headline scores 1 / 3).
    neutral_prior_headlines: float = 2.0
    signal_threshold: float = SIGNAL_THRESHOLD  # |score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    news: float = 1.0


THRESHOLDS = Thresholds()
WEIGHTS = Weights()
NAME = "News Sentiment"
DESCRIPTION = "Headline sentiment; neutral at confidence 0 when there is no news."
PERSONA = (
    "You are a news sentiment analyst. You read recent company headlines and judge whether the "
    "flow of news is good or bad for the stock. Rules: count bullish against bearish headlines; a "
    "clear majority sets the direction and a larger sample raises confidence; neutral stories do not "
    "move you; headlines without a label are yours to classify. With no news, say so and stay "
    "neutral at zero confidence: never invent news."
)


def unlabelled_headlines(snapshot: Snapshot) -> list[str]:
    """Titles of the headlines that carry no sentiment label, newest as given (for a model to classify)."""
    return [item.title for item in snapshot.news or () if item.sentiment is None]


def analyze(snapshot: Snapshot, *, thresholds: Thresholds = THRESHOLDS, weights: Weights = WEIGHTS) -> Analysis:
    sub = news_sub_score(snapshot, weight=weights.news, prior_headlines=thresholds.neutral_prior_headlines)
    return analysis_of(
        "news_sentiment",
        snapshot,
        (sub,),
        headlines=float(len(snapshot.news or ())),
        unlabelled_headlines=float(len(unlabelled_headlines(snapshot))),
    )


def derive_signal(analysis: Analysis, *, thresholds: Thresholds = THRESHOLDS) -> AgentSignal:
    return rules_signal(analysis, threshold=thresholds.signal_threshold)
