"""The analyst scorecard: how each analyst's signals related to the returns that followed.

For a signal on ticker T as of session D and a horizon of h sessions, the
forward return is close(T, D + h sessions) / close(T, D) - 1 (adjusted
closes; a signal whose horizon runs past the data has none and is left out).
Per analyst and ticker, and per analyst over ALL its tickers:

- hit rate: among bullish and bearish signals, the share whose forward return
  had the signal's sign (bullish and > 0, bearish and < 0); neutral ones do not count;
- rank IC: Spearman's rank correlation between the signed confidence
  (+confidence bullish, -confidence bearish, 0 neutral) and the forward return,
  i.e. Pearson's correlation of their average ranks (ties share a rank);
- mean forward return of the bullish, neutral and bearish signals.

Too few signals give ``nan``: a hit rate needs one directional signal, a rank
IC three pairs with both sides varying.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from hedgeflow.backtest.models import ScorecardRow, SignalRecord
from hedgeflow.schemas import AgentSignal, Price, Signal

__all__ = [
    "HORIZONS",
    "build_scorecard",
    "closes_by_ticker",
    "forward_return",
    "hit_rate",
    "rank_ic",
    "signal_records",
    "signed_score",
]

HORIZONS: tuple[int, ...] = (5, 21, 63)
ALL = "ALL"
NAN = float("nan")


def forward_return(dates: Sequence[dt.date], closes: Sequence[float], day: dt.date, horizon: int) -> float:
    """close at the h-th session after ``day`` / close on ``day`` - 1; nan if either is missing."""
    i = bisect.bisect_left(dates, day)
    if i >= len(dates) or dates[i] != day or i + horizon >= len(dates) or closes[i] <= 0:
        return NAN
    return closes[i + horizon] / closes[i] - 1.0


def signed_score(signal: Signal, confidence: float) -> float:
    """+confidence/100 for bullish, -confidence/100 for bearish, 0 for neutral: in [-1, 1]."""
    return {"bullish": 1.0, "bearish": -1.0, "neutral": 0.0}[signal] * confidence / 100.0


def hit_rate(signals: Sequence[Signal], forward: Sequence[float]) -> float:
    """Share of directional signals whose forward return had their sign; nan without one."""
    calls = [(s, r) for s, r in zip(signals, forward) if s != "neutral"]
    if not calls:
        return NAN
    return sum(1 for s, r in calls if (r > 0 if s == "bullish" else r < 0)) / len(calls)


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks, 1-based; tied values share the mean of their ranks (as scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(x.size)
    sorted_x = x[order]
    i = 0
    while i < x.size:
        j = i
        while j + 1 < x.size and sorted_x[j + 1] == sorted_x[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def rank_ic(scores: Sequence[float], forward: Sequence[float]) -> float:
    """Spearman's rho of scores and forward returns; nan under three pairs or when either is constant."""
    a, b = np.asarray(scores, dtype=float), np.asarray(forward, dtype=float)
    if a.size < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return NAN
    return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def signal_records(signals: Sequence[AgentSignal]) -> list[SignalRecord]:
    return [
        SignalRecord(date=s.as_of, analyst=s.analyst, ticker=s.ticker, signal=s.signal,
                     confidence=s.confidence, degraded=s.degraded)
        for s in signals
    ]


def closes_by_ticker(bars: Mapping[str, Sequence[Price]]) -> dict[str, tuple[list[dt.date], list[float]]]:
    return {t: ([dt.date.fromisoformat(b.time) for b in s], [b.close for b in s]) for t, s in bars.items()}


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else NAN


def _row(analyst: str, ticker: str, horizon: int, pairs: list[tuple[SignalRecord, float]]) -> ScorecardRow:
    by_signal: dict[str, list[float]] = defaultdict(list)
    for record, ret in pairs:
        by_signal[record.signal].append(ret)
    return ScorecardRow(
        analyst=analyst,
        ticker=ticker,
        horizon=horizon,
        signals=len(pairs),
        hit_rate=hit_rate([r.signal for r, _ in pairs], [x for _, x in pairs]),
        rank_ic=rank_ic([signed_score(r.signal, r.confidence) for r, _ in pairs], [x for _, x in pairs]),
        mean_return_bullish=_mean(by_signal["bullish"]),
        mean_return_neutral=_mean(by_signal["neutral"]),
        mean_return_bearish=_mean(by_signal["bearish"]),
    )


def build_scorecard(
    records: Iterable[SignalRecord],
    closes: Mapping[str, tuple[Sequence[dt.date], Sequence[float]]],
    horizons: Sequence[int] = HORIZONS,
) -> list[ScorecardRow]:
    """One row per (analyst, ticker, horizon), plus (analyst, ALL, horizon) when it has several tickers.

    ``closes`` maps each ticker to its session dates and closes, oldest first.
    Degraded signals (the rules fallback standing in for a model) are left out.
    """
    groups: dict[tuple[str, str, int], list[tuple[SignalRecord, float]]] = defaultdict(list)
    for record in records:
        if record.degraded or record.ticker not in closes:
            continue
        dates, prices = closes[record.ticker]
        for h in horizons:
            ret = forward_return(dates, prices, record.date, h)
            if not math.isnan(ret):
                groups[(record.analyst, record.ticker, h)].append((record, ret))
                groups[(record.analyst, ALL, h)].append((record, ret))
    tickers_of: dict[str, set[str]] = defaultdict(set)
    for analyst, ticker, _ in groups:
        if ticker != ALL:
            tickers_of[analyst].add(ticker)
    return [
        _row(analyst, ticker, h, pairs)
        for (analyst, ticker, h), pairs in sorted(groups.items())
        if ticker != ALL or len(tickers_of[analyst]) > 1
    ]
