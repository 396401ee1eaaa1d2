"""Every analyst over every bundled company at every month end from 2019 to the end of the data."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from hedgeflow.analysts.registry import CATALOGUE, load_analyst
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot

COMPANIES = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]


def _month_ends(first: dt.date, last: dt.date) -> list[dt.date]:
    ends, year, month = [], first.year, first.month
    while True:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        end = following - dt.timedelta(days=1)
        if end > last:
            return ends
        ends.append(end)
        year, month = following.year, following.month


@pytest.mark.parametrize("ticker", COMPANIES)
def test_every_analyst_every_month_end(ticker: str) -> None:
    provider = OfflineProvider()
    last = provider.tickers()[ticker][1]
    committee = [load_analyst(key) for key in CATALOGUE]
    dates = _month_ends(dt.date(2019, 1, 1), last)
    assert len(dates) >= 80
    for end in dates:
        snapshot = build_snapshot(provider, ticker, end - dt.timedelta(days=91), end)
        for spec in committee:
            signal = spec.derive_signal(spec.analyze(snapshot))
            assert 0.0 <= signal.confidence <= 100.0, (spec.key, ticker, end)
            assert not math.isnan(signal.confidence)
            assert signal.signal in ("bullish", "bearish", "neutral")
            assert signal.reasoning
