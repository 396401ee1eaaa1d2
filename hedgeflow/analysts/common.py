"""Helpers shared by the analysts: reading a Snapshot safely, and the one insider and one news sub-score.

Every helper returns ``None`` (never nan, never an exception) when the data is
missing, so an analyst can turn "no data" into ``no_data(...)`` instead of a
bearish score. Series come back oldest first, ready for ``finmath``.
Append only: the analyst modules import from here.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from typing import Any

from hedgeflow import finmath
from hedgeflow.analysts.base import no_data, score_between, sub_score
from hedgeflow.schemas import InsiderTrade, Snapshot, SubScore

__all__ = [
    "capex_intensity",
    "closes",
    "current_ratio",
    "dated_ratio_series",
    "debt_to_equity",
    "enterprise_value",
    "finite",
    "growth_cagr",
    "insider_sub_score",
    "interest_coverage",
    "is_current",
    "latest",
    "latest_metric",
    "latest_price",
    "latest_ratio",
    "market_cap",
    "mean_score",
    "news_sub_score",
    "ratio_series",
    "series",
    "share_positive",
    "up_share",
    "years_between",
]

METRICS_MAX_AGE_DAYS = 200  # a ttm period ends a quarter apart; a 10-K lands up to ~90 days after its year end


def finite(value: Any) -> float | None:
    """``value`` as a float, or ``None`` when it is missing, nan or infinite."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def latest(items: Sequence[Any], field: str) -> float | None:
    """``field`` of the newest period in newest-first ``items`` (line items or metrics).

    No walking back: a figure the newest period does not report is missing,
    not taken from an older period (docs/figures.md, "No stale figure").
    """
    return finite(getattr(items[0], field, None)) if items else None


def series(items: Sequence[Any], field: str) -> list[float]:
    """Finite values of ``field``, oldest first (input newest first); missing periods are skipped."""
    values = (finite(getattr(item, field, None)) for item in reversed(items))
    return [v for v in values if v is not None]


def ratio_series(
    items: Sequence[Any], numerator: str, denominator: str, *, positive_base: bool = True
) -> list[float]:
    """numerator / denominator per period, oldest first; periods missing either (or a zero,
    or with ``positive_base`` a negative, denominator) are skipped."""
    out: list[float] = []
    for item in reversed(items):
        num, den = finite(getattr(item, numerator, None)), finite(getattr(item, denominator, None))
        if num is None or den is None or den == 0 or (positive_base and den < 0):
            continue
        out.append(num / den)
    return out


def dated_ratio_series(items: Sequence[Any], numerator: str, denominator: str) -> list[tuple[Any, float]]:
    """``ratio_series`` with each value's item (for its report period), oldest first."""
    out: list[tuple[Any, float]] = []
    for item in reversed(items):
        num, den = finite(getattr(item, numerator, None)), finite(getattr(item, denominator, None))
        if num is not None and den is not None and den > 0:
            out.append((item, num / den))
    return out


def latest_ratio(items: Sequence[Any], numerator: str, denominator: str) -> float | None:
    """numerator / denominator of the newest period (positive denominator); like ``latest``, an
    older period is never used when the newest lacks either figure."""
    values = ratio_series(items[:1], numerator, denominator)
    return values[-1] if values else None


def is_current(item: Any, as_of: dt.date, max_age_days: int = METRICS_MAX_AGE_DAYS) -> bool:
    """Whether ``item``'s report period ended at most ``max_age_days`` before ``as_of``."""
    end = _period_end(item)
    return end is not None and 0 <= (as_of - end).days <= max_age_days


def latest_metric(snapshot: Snapshot, field: str) -> float | None:
    """``field`` of the newest ttm ``FinancialMetrics``, if that period is current.

    Current: it ended at most ``METRICS_MAX_AGE_DAYS`` before the as-of date. An
    older period's figure, or an older period's value of a field the newest one
    lacks (a P/E priced at a 2020 close), is missing, never presented as current.
    """
    metrics = snapshot.metrics
    if not metrics or not is_current(metrics[0], snapshot.end):
        return None
    return finite(getattr(metrics[0], field, None))


def market_cap(snapshot: Snapshot) -> float | None:
    """Market capitalisation at the as-of date: the snapshot's, else the current ttm metrics'.

    ``None`` when neither exists (V from late 2021 to late 2022 has no share count):
    never an older period's close x shares.
    """
    value = finite(snapshot.market_cap)
    if value is not None and value > 0:
        return value
    value = latest_metric(snapshot, "market_cap")
    return value if value is not None and value > 0 else None


def latest_price(snapshot: Snapshot) -> float | None:
    """The last close on or before the as-of date."""
    return finite(snapshot.prices[-1].close) if snapshot.prices else None


def _period_end(item: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(getattr(item, "report_period", ""))[:10])
    except ValueError:
        return None


def years_between(older: Any, newer: Any) -> float | None:
    """Years between two items' report periods (days / 365.25); ``None`` if either date is unknown."""
    start, end = _period_end(older), _period_end(newer)
    if start is None or end is None or end <= start:
        return None
    return (end - start).days / 365.25


def growth_cagr(items: Sequence[Any], field: str) -> float | None:
    """Compound annual growth of ``field`` from its oldest to its newest finite value.

    Years come from the report periods (so gaps count, never points - 1);
    ``None`` under two values, without dates, or when either end is not positive
    (``finmath.cagr``).
    """
    points = [(item, finite(getattr(item, field, None))) for item in items]
    known = [(item, v) for item, v in points if v is not None]
    if len(known) < 2:
        return None
    (new_item, new), (old_item, old) = known[0], known[-1]
    years = years_between(old_item, new_item)
    return None if years is None else finite(finmath.cagr(old, new, years))


def up_share(values: Sequence[float]) -> float | None:
    """Share of period-over-period steps that rise, for an oldest-first series; ``None`` under two values."""
    if len(values) < 2:
        return None
    steps = list(itertools.pairwise(values))
    return sum(1 for old, new in steps if new > old) / len(steps)


def share_positive(values: Sequence[float]) -> float | None:
    """Share of values above zero; ``None`` for an empty series."""
    return sum(1 for v in values if v > 0) / len(values) if values else None


def mean_score(scores: Iterable[float | None]) -> float | None:
    """Mean of the parts that have data; ``None`` when none has."""
    known = [s for s in scores if s is not None and math.isfinite(s)]
    return sum(known) / len(known) if known else None


def debt_to_equity(snapshot: Snapshot) -> float | None:
    """Leverage: ttm metrics' debt to equity, else total debt / equity of the latest annual items."""
    value = latest_metric(snapshot, "debt_to_equity")
    if value is not None:
        return value
    return latest_ratio(snapshot.line_items, "total_debt", "shareholders_equity")


def capex_intensity(snapshot: Snapshot) -> float | None:
    """|capital expenditure| / revenue of the newest annual period (``None`` if it lacks either)."""
    for item in snapshot.line_items[:1]:
        capex, revenue = finite(item.capital_expenditure), finite(item.revenue)
        if capex is not None and revenue is not None and revenue > 0:
            return abs(capex) / revenue
    return None


def insider_sub_score(snapshot: Snapshot, *, weight: float = 1.0, by_value: bool = False) -> SubScore:
    """Net insider buying, (bought - sold) / (bought + sold), from -1 to +1: the one insider sub-score,
    named ``insiders`` in every analyst.

    Sized by shares; with ``by_value``, by transaction value when every purchase
    and sale carries one (else by shares). Abstains when the provider has no
    insider data or the window has no purchase or sale.
    """
    name = "insiders"
    if snapshot.insider_trades is None:
        return no_data(name, f"insider trades not provided by {snapshot.provider}", weight=weight)
    signed = [t for t in snapshot.insider_trades if (finite(t.transaction_shares) or 0.0) != 0.0]
    if not signed:
        return no_data(name, "no insider purchases or sales in the window", weight=weight)
    sized_by_value = by_value and all(finite(t.transaction_value) is not None for t in signed)

    def size(trade: InsiderTrade) -> float:
        return abs((finite(trade.transaction_value) if sized_by_value else finite(trade.transaction_shares)) or 0.0)

    buys = [t for t in signed if (finite(t.transaction_shares) or 0.0) > 0]
    sells = [t for t in signed if (finite(t.transaction_shares) or 0.0) < 0]
    bought, sold = sum(size(t) for t in buys), sum(size(t) for t in sells)
    if bought + sold == 0:
        return no_data(name, "insider trades carry no size", weight=weight)
    balance = (bought - sold) / (bought + sold)
    unit = "in value" if sized_by_value else "shares"
    return sub_score(
        name,
        balance,
        weight=weight,
        details=f"insiders bought {bought:,.0f} and sold {sold:,.0f} {unit} ({len(buys)} purchases, {len(sells)} sales)",
        insider_buys=float(len(buys)),
        insider_sells=float(len(sells)),
        insider_bought=bought,
        insider_sold=sold,
        net_buying_share=balance,
    )


def news_sub_score(
    snapshot: Snapshot,
    *,
    weight: float = 1.0,
    prior_headlines: float = 0.0,
    contrarian: tuple[float, float] | None = None,
) -> SubScore:
    """Headline balance (bullish - bearish) / (labelled + ``prior_headlines``), from -1 to +1: the one
    news sub-score, named ``news`` in every analyst.

    ``prior_headlines`` shrinks a handful of headlines toward neutral (with 2, one
    bullish headline scores 1 / 3). ``contrarian`` = (bad, good) reads a pile of bad
    news as opportunity instead: the bearish share of labelled headlines mapped
    from bad (-1) to good (+1). Headlines without a label abstain; so does the
    sub-score without news or without a labelled headline.
    """
    name, news = "news", snapshot.news
    if news is None:
        return no_data(name, f"news not provided by {snapshot.provider}", weight=weight)
    if not news:
        return no_data(name, "no headlines in the window", weight=weight)
    labels = [item.sentiment for item in news if item.sentiment is not None]
    unlabelled = len(news) - len(labels)
    if not labels:
        return no_data(name, f"{unlabelled} headlines, none labelled with a sentiment", weight=weight)
    bullish = sum(1 for s in labels if s == "bullish")
    bearish = sum(1 for s in labels if s == "bearish")
    neutral = len(labels) - bullish - bearish
    bearish_share = bearish / len(labels)
    score: float | None = (bullish - bearish) / (len(labels) + prior_headlines)
    if contrarian is not None:
        score = score_between(bearish_share, *contrarian)
    return sub_score(
        name,
        score,
        weight=weight,
        details=f"{bullish} bullish, {bearish} bearish, {neutral} neutral of {len(labels)} labelled headlines"
        + (f"; {unlabelled} unlabelled" if unlabelled else "")
        + (" (read contrarian)" if contrarian is not None else ""),
        bullish_headlines=float(bullish),
        bearish_headlines=float(bearish),
        neutral_headlines=float(neutral),
        labelled_headlines=float(len(labels)),
        unlabelled_headlines=float(unlabelled),
        headline_balance=(bullish - bearish) / len(labels),
        bearish_share=bearish_share,
    )


def closes(snapshot: Snapshot) -> list[float]:
    """Finite, positive closing prices, oldest first (ready for ``finmath``)."""
    values = (finite(p.close) for p in snapshot.prices)
    return [v for v in values if v is not None and v > 0]


def enterprise_value(snapshot: Snapshot) -> float | None:
    """EV: the ttm metrics' enterprise value, else market cap + total debt - cash of the latest annual items."""
    value = latest_metric(snapshot, "enterprise_value")
    if value is not None and value > 0:
        return value
    cap = market_cap(snapshot)
    if cap is None:
        return None
    debt = latest(snapshot.line_items, "total_debt") or 0.0
    cash = latest(snapshot.line_items, "cash_and_equivalents") or 0.0
    return cap + debt - cash


def current_ratio(snapshot: Snapshot) -> float | None:
    """Current assets / current liabilities: ttm metrics, else the latest annual items (``None`` if unreported)."""
    value = latest_metric(snapshot, "current_ratio")
    if value is not None:
        return value
    return latest_ratio(snapshot.line_items, "current_assets", "current_liabilities")


def interest_coverage(snapshot: Snapshot) -> float | None:
    """EBIT / |interest expense|: current ttm metrics, else the newest annual period (``None`` when
    it reports no interest expense, e.g. a company without debt: no older year's coverage)."""
    value = latest_metric(snapshot, "interest_coverage")
    if value is not None:
        return value
    for item in snapshot.line_items[:1]:
        ebit = finite(item.ebit) if item.ebit is not None else finite(item.operating_income)
        interest = finite(item.interest_expense)
        if ebit is not None and interest is not None and interest != 0:
            return ebit / abs(interest)
    return None
