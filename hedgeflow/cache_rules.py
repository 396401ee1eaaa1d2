"""What makes a cached result still good: expiry by dataset and a fingerprint of the inputs.

Pure rules, no Prefect: the task layer turns them into cache policies.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from pydantic import BaseModel

__all__ = ["FUNDAMENTAL_DATASETS", "dataset_expiry", "fingerprint"]

FUNDAMENTAL_DATASETS = frozenset({"metrics", "line_items", "quarterly_line_items"})
LIVE_EXPIRY = dt.timedelta(minutes=5)  # a window that includes today: prices move
FUNDAMENTAL_EXPIRY = dt.timedelta(days=1)  # filings arrive at most daily


def dataset_expiry(dataset: str, end: dt.date, today: dt.date | None = None) -> dt.timedelta | None:
    """How long a fetched dataset stays good; ``None`` means forever.

    A window wholly in the past never changes. A window that includes today
    expires within minutes, fundamentals within a day.
    """
    today = today or dt.date.today()
    if end < today:
        return None
    return FUNDAMENTAL_EXPIRY if dataset in FUNDAMENTAL_DATASETS else LIVE_EXPIRY


def fingerprint(model: BaseModel) -> str:
    """A short, stable digest of a model's JSON: equal data gives an equal fingerprint."""
    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()[:16]
