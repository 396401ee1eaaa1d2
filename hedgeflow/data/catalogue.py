"""The bundled tickers and their date ranges, read without pandas (fast for the CLI)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from functools import cache
from pathlib import Path

__all__ = ["BUNDLED", "bundled_ranges"]

BUNDLED = Path(__file__).parent / "bundled"


@cache
def bundled_ranges() -> dict[str, tuple[dt.date, dt.date]]:
    """Ticker -> (first, last) price date of the bundled files."""
    ranges: dict[str, tuple[dt.date, dt.date]] = {}
    for path in sorted((BUNDLED / "prices").glob("*.csv.gz")):
        with gzip.open(path, "rt", newline="") as handle:
            rows = csv.reader(handle)
            next(rows)
            first = last = next(rows)[0]
            for row in rows:
                last = row[0]
        ranges[path.name.removesuffix(".csv.gz")] = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    return ranges
