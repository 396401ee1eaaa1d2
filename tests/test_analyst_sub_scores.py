"""The one insider and the one news sub-score (``hedgeflow.analysts.common``): figures and invariants.

Expected figures are worked by hand from the formulas in the helpers' docstrings:
insider balance = (bought - sold) / (bought + sold); news balance =
(bullish - bearish) / (labelled + prior); contrarian = the bearish share mapped
linearly from bad (-1) to good (+1).
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgeflow.analysts.common import insider_sub_score, news_sub_score
from hedgeflow.schemas import CompanyNews, InsiderTrade, Price, Signal, Snapshot

DAY = dt.date(2025, 6, 30)


def snapshot(
    trades: tuple[InsiderTrade, ...] | None = None, news: tuple[CompanyNews, ...] | None = None
) -> Snapshot:
    price = Price(open=10.0, high=10.0, low=10.0, close=10.0, volume=1000, time=DAY.isoformat())
    return Snapshot(ticker="TEST", start=DAY, end=DAY, provider="test", prices=(price,), insider_trades=trades, news=news)


def trade(shares: float, value: float | None = None) -> InsiderTrade:
    return InsiderTrade(ticker="TEST", transaction_shares=shares, transaction_value=value, filing_date="2025-06-01")


def headlines(*labels: Signal | None) -> tuple[CompanyNews, ...]:
    return tuple(CompanyNews(ticker="TEST", title=f"h{i}", date="2025-06-01", sentiment=s) for i, s in enumerate(labels))


def test_insider_balance_by_shares_and_by_value() -> None:
    trades = (trade(1000, 90_000), trade(-300, -60_000), trade(0, 0))
    by_shares = insider_sub_score(snapshot(trades), weight=0.4)
    assert by_shares.name == "insiders" and by_shares.weight == 0.4
    assert by_shares.score == pytest.approx(700 / 1300)  # (1000 - 300) / (1000 + 300); the 0-share trade abstains
    assert (by_shares.figures["insider_buys"], by_shares.figures["insider_sells"]) == (1.0, 1.0)
    by_value = insider_sub_score(snapshot(trades), by_value=True)
    assert by_value.score == pytest.approx(30 / 150)  # (90k - 60k) / 150k
    one_without_value = insider_sub_score(snapshot((trade(1000, 90_000), trade(-300))), by_value=True)
    assert one_without_value.score == pytest.approx(700 / 1300)  # a trade without its value: by shares


@pytest.mark.parametrize(
    ("trades", "why"),
    [
        (None, "insider trades not provided by test"),
        ((), "no insider purchases or sales in the window"),
        ((trade(0),), "no insider purchases or sales in the window"),
        ((trade(float("nan")),), "no insider purchases or sales in the window"),
    ],
)
def test_insiders_abstain_without_trades(trades: tuple[InsiderTrade, ...] | None, why: str) -> None:
    sub = insider_sub_score(snapshot(trades))
    assert sub.score is None and sub.details == f"no data: {why}"


def test_news_balance_prior_and_contrarian() -> None:
    news = headlines("bullish", "bullish", "bullish", "bearish", "neutral", None)
    plain = news_sub_score(snapshot(news=news))
    assert plain.name == "news"
    assert plain.score == pytest.approx(2 / 5)  # (3 - 1) / 5 labelled; the unlabelled one abstains
    assert plain.figures["unlabelled_headlines"] == 1.0
    assert news_sub_score(snapshot(news=news), prior_headlines=2.0).score == pytest.approx(2 / 7)  # (3 - 1) / (5 + 2)
    contrarian = news_sub_score(snapshot(news=news), contrarian=(0.0, 0.6))
    assert contrarian.score == pytest.approx(-1.0 + 2.0 * 0.2 / 0.6)  # bearish share 1/5 = 0.2 on a 0 -> 0.6 band
    assert "read contrarian" in contrarian.details


@pytest.mark.parametrize(
    ("news", "why"),
    [
        (None, "news not provided by test"),
        ((), "no headlines in the window"),
        (headlines(None, None), "2 headlines, none labelled with a sentiment"),
    ],
)
def test_news_abstains_without_labelled_headlines(news: tuple[CompanyNews, ...] | None, why: str) -> None:
    sub = news_sub_score(snapshot(news=news))
    assert sub.score is None and sub.details == f"no data: {why}"


SHARES = st.lists(
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False).filter(lambda s: abs(s) >= 1.0), min_size=1, max_size=12
)


@settings(max_examples=60, deadline=None)
@given(SHARES)
def test_insider_balance_is_bounded_and_flips_with_the_trades(shares: list[float]) -> None:
    """Invariant: the balance lies in [-1, 1], and turning every purchase into a sale (and back) negates it."""
    score = insider_sub_score(snapshot(tuple(trade(s) for s in shares))).score
    mirrored = insider_sub_score(snapshot(tuple(trade(-s) for s in shares))).score
    assert score is not None and mirrored is not None
    assert -1.0 <= score <= 1.0
    assert mirrored == pytest.approx(-score, abs=1e-12)


LABELS = st.lists(st.sampled_from(["bullish", "bearish", "neutral", None]), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(LABELS, st.floats(min_value=0.0, max_value=20.0))
def test_a_prior_only_shrinks_the_news_balance(labels: list[Signal | None], prior: float) -> None:
    """Invariant: a prior of neutral headlines keeps the sign and never raises |balance|."""
    news = headlines(*labels)
    plain, shrunk = news_sub_score(snapshot(news=news)).score, news_sub_score(snapshot(news=news), prior_headlines=prior).score
    if plain is None:
        assert shrunk is None and all(label is None for label in labels)
        return
    assert shrunk is not None
    assert abs(shrunk) <= abs(plain) + 1e-12
    assert shrunk * plain >= 0.0
