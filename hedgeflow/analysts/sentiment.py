"""Sentiment analyst: the balance of insider trades and of news sentiment.

A provider without insider trades or news (the bundled data has neither)
gives ``None`` for that dataset: the sub-score then abstains and says so, and
with neither the signal is neutral at confidence 0. Nothing is inferred from
prices to fill the gap.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgeflow.analysts.base import no_data, rules_signal, sub_score
from hedgeflow.schemas import AgentSignal, Analysis, CompanyNews, InsiderTrade, Snapshot, SubScore

__all__ = ["DESCRIPTION", "NAME", "PERSONA", "WEIGHTS", "Weights", "analyze", "derive_signal"]


@dataclass(frozen=True)
class Weights:
    insider: float = 0.3
    news: float = 0.7


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


def analyze(snapshot: Snapshot, weights: Weights = WEIGHTS) -> Analysis:
    return Analysis(
        analyst="sentiment",
        ticker=snapshot.ticker,
        as_of=snapshot.end,
        sub_scores=(
            _insider(snapshot.insider_trades, snapshot.provider, weights.insider),
            _news(snapshot.news, snapshot.provider, weights.news),
        ),
    )


def derive_signal(analysis: Analysis) -> AgentSignal:
    """The weighted mean of the two balances (``base.rules_signal``); neutral at 0 without data."""
    return rules_signal(analysis)


def _insider(trades: tuple[InsiderTrade, ...] | None, provider: str, weight: float) -> SubScore:
    """(bought - sold) / (bought + sold), by transaction value when every trade has one, else by shares."""
    if trades is None:
        return no_data("insider", f"insider trades not provided by {provider}", weight=weight)
    signed = [t for t in trades if t.transaction_shares]
    if not signed:
        return no_data("insider", "no insider purchases or sales in the window", weight=weight)
    by_value = all(t.transaction_value is not None for t in signed)

    def size(trade: InsiderTrade) -> float:
        return abs(trade.transaction_value or 0.0) if by_value else abs(trade.transaction_shares or 0.0)

    buys = [t for t in signed if (t.transaction_shares or 0.0) > 0]
    sells = [t for t in signed if (t.transaction_shares or 0.0) < 0]
    bought, sold = sum(size(t) for t in buys), sum(size(t) for t in sells)
    total = bought + sold
    if total == 0:
        return no_data("insider", "insider trades carry no size", weight=weight)
    unit = "value" if by_value else "shares"
    return sub_score(
        "insider",
        (bought - sold) / total,
        weight=weight,
        details=f"{len(buys)} buys vs {len(sells)} sells, by {unit}",
        buys=float(len(buys)),
        sells=float(len(sells)),
        bought=bought,
        sold=sold,
    )


def _news(news: tuple[CompanyNews, ...] | None, provider: str, weight: float) -> SubScore:
    """(positive - negative) / labelled articles; unlabelled articles abstain."""
    if news is None:
        return no_data("news", f"news not provided by {provider}", weight=weight)
    labelled = [n for n in news if n.sentiment is not None]
    if not labelled:
        why = "no news in the window" if not news else f"{len(news)} articles carry no sentiment label"
        return no_data("news", why, weight=weight)
    positive = sum(1 for n in labelled if n.sentiment == "bullish")
    negative = sum(1 for n in labelled if n.sentiment == "bearish")
    neutral = len(labelled) - positive - negative
    return sub_score(
        "news",
        (positive - negative) / len(labelled),
        weight=weight,
        details=f"{positive} positive, {negative} negative, {neutral} neutral articles",
        positive=float(positive),
        negative=float(negative),
        neutral=float(neutral),
    )
