from __future__ import annotations

import datetime as dt

from hedgeflow.cache_rules import FUNDAMENTAL_EXPIRY, LIVE_EXPIRY, dataset_expiry, fingerprint
from hedgeflow.schemas import Price

TODAY = dt.date(2026, 11, 24)


def test_past_windows_never_expire() -> None:
    for dataset in ("prices", "metrics", "news"):
        assert dataset_expiry(dataset, dt.date(2025, 10, 8), TODAY) is None


def test_windows_including_today_expire_by_dataset() -> None:
    assert dataset_expiry("prices", TODAY, TODAY) == LIVE_EXPIRY
    assert dataset_expiry("line_items", TODAY, TODAY) == FUNDAMENTAL_EXPIRY
    assert LIVE_EXPIRY < FUNDAMENTAL_EXPIRY


def test_fingerprint_follows_the_data() -> None:
    a = Price(open=1, close=2, high=3, low=1, volume=10, time="2025-01-02")
    same = Price(open=1, close=2, high=3, low=1, volume=10, time="2025-01-02")
    other = a.model_copy(update={"close": 2.5})
    assert fingerprint(a) == fingerprint(same)
    assert fingerprint(a) != fingerprint(other)
