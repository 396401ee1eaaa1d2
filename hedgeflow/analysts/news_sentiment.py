"""News sentiment: the balance of labelled headlines; neutral at confidence 0 without news."""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.analysts.base import no_data, rules_signal, sub_score
from hedgeflow.schemas import AgentSignal, Analysis, CompanyNews, Snapshot, SubScore


@dataclass(frozen=True)
class Thresholds:
    # Shrinkage: the balance is (bullish - bearish) / (labelled + prior), so a handful of
    # headlines cannot make a confident call (one bullish headline scores 1 / 3).
    neutral_prior_headlines: float = 2.0
    signal_threshold: float = 0.15  # |score| at or above this is directional


@dataclass(frozen=True)
class Weights:
    headline_sentiment: float = 1.0


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


def analyze(snapshot: Snapshot) -> Analysis:
    news = snapshot.news
    sub = _headline_sentiment(news, snapshot.provider, THRESHOLDS, WEIGHTS.headline_sentiment)
    figures: dict[str, float | None] = dict(sub.figures)
    figures["headlines"] = float(len(news or ()))
    figures["unlabelled_headlines"] = float(len(unlabelled_headlines(snapshot)))
    return Analysis(
        analyst="news_sentiment", ticker=snapshot.ticker, as_of=snapshot.end, sub_scores=(sub,), figures=figures
    )


def derive_signal(analysis: Analysis) -> AgentSignal:
    return rules_signal(analysis, threshold=THRESHOLDS.signal_threshold)


def _headline_sentiment(
    news: tuple[CompanyNews, ...] | None, provider: str, t: Thresholds, weight: float
) -> SubScore:
    name = "headline_sentiment"
    if news is None:
        return no_data(name, f"news not provided by {provider}", weight=weight)
    if not news:
        return no_data(name, "no headlines in the window", weight=weight)
    labels = [item.sentiment for item in news if item.sentiment is not None]
    unlabelled = len(news) - len(labels)
    if not labels:
        return no_data(name, f"{unlabelled} headlines, none labelled with a sentiment", weight=weight)
    bullish = sum(1 for s in labels if s == "bullish")
    bearish = sum(1 for s in labels if s == "bearish")
    neutral = len(labels) - bullish - bearish
    balance = (bullish - bearish) / len(labels)
    score = (bullish - bearish) / (len(labels) + t.neutral_prior_headlines)
    return sub_score(
        name,
        score,
        weight=weight,
        details=(
            f"{bullish} bullish, {bearish} bearish, {neutral} neutral of {len(labels)} labelled headlines"
            + (f"; {unlabelled} unlabelled" if unlabelled else "")
        ),
        bullish_headlines=float(bullish),
        bearish_headlines=float(bearish),
        neutral_headlines=float(neutral),
        labelled_headlines=float(len(labels)),
        headline_balance=balance,
    )
