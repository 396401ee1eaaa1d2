"""Argument types the ``hedgeflow`` sub-commands share (stdlib only, so ``--help`` stays fast)."""

from __future__ import annotations

import argparse
import datetime as dt

__all__ = ["comma_list", "iso_date"]


def iso_date(text: str) -> dt.date:
    """A YYYY-MM-DD date, or argparse's one-line error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"malformed date {text!r}; use YYYY-MM-DD") from None


def comma_list(text: str) -> list[str]:
    """``"AAPL, NVDA,"`` -> ``["AAPL", "NVDA"]``: parts stripped, empty ones dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]
