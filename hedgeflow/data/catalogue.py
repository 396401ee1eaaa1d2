"""The bundled tickers and their date ranges, read without pandas (fast for the CLI)."""

from __future__ import annotations

import datetime as dt
import gzip
from functools import cache
from pathlib import Path

__all__ = ["BUNDLED", "bundled_ranges"]

BUNDLED = Path(__file__).parent / "bundled"


@cache
def bundled_ranges() -> dict[str, tuple[dt.date, dt.date]]:
    """Ticker -> (first, last) price date of the bundled files: the date opening their second and last lines.

    Read once per process, and only those two dates of each file: parsing every row took a few
    tenths of a second, on the path of every offline run (request checks, the ticker list).
    """
    ranges: dict[str, tuple[dt.date, dt.date]] = {}
    for path in sorted((BUNDLED / "prices").glob("*.csv.gz")):
        lines = gzip.decompress(path.read_bytes()).decode("ascii").strip().splitlines()
        first, last = (line.split(",", 1)[0] for line in (lines[1], lines[-1]))
        ranges[path.name.removesuffix(".csv.gz")] = (dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    return ranges
