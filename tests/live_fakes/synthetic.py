"""A small company the bundle does not have, for the live fakes: SCWO (374Water Inc., CIK 933972).

Its Form 4 is the real recorded one (``data/sec_form4_SCWO_374Water_2025-04-30.xml``);
its figures are NOT 374Water's: no companyfacts or chart recording of a small
company exists in the protocol samples, so this module builds documents in the
exact shapes of the recorded ones (companyfacts facts, the v8 chart envelope,
submissions columns) from simple, hand-checkable rules:

- a 2-for-1 split effective 2024-06-03; filings before it report pre-split counts;
- a $0.05 dividend each quarter, so the adjusted close differs from the close;
- calendar fiscal years; a 10-Q 40 days after each of Q1-Q3, a 10-K 60 days after Q4.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["CIK", "SPLIT", "TICKER", "chart_result", "companyfacts", "quarter_ends", "raw_close", "shares_reported", "submissions"]

TICKER, CIK, NAME = "SCWO", 933972, "374Water Inc."
SPLIT = (dt.date(2024, 6, 3), 2, 1)  # effective date, numerator, denominator
DIVIDEND = 0.05
FIRST_SESSION = dt.date(2021, 1, 4)
NEW_YORK = ZoneInfo("America/New_York")
FORM4_ACCESSION = "0000933972-25-000021"  # the accession is not recorded with the document; this one is made up
FORM4_FILED = dt.date(2025, 5, 2)
FORM4_DOCUMENT = "form4_374water.xml"


def quarter_ends() -> list[dt.date]:
    ends = []
    for year in range(2021, 2026):
        for month, day in ((3, 31), (6, 30), (9, 30), (12, 31)):
            ends.append(dt.date(year, month, day))
    return [e for e in ends if e <= dt.date(2025, 9, 30)]


def filed_on(end: dt.date) -> dt.date:
    return end + dt.timedelta(days=60 if end.month == 12 else 40)


def shares_reported(end: dt.date) -> float:
    """Shares outstanding at ``end`` as the filing reports them: pre-split counts before the split."""
    post_split = 260_000_000 + 1_000_000 * quarter_ends().index(end)
    return post_split / 2 if filed_on(end) < SPLIT[0] else post_split


def _quarter_figures(i: int) -> dict[str, float]:
    revenue = 10_000_000 + 500_000 * i
    return {"Revenues": revenue, "CostOfRevenue": revenue * 0.6, "OperatingIncomeLoss": revenue * 0.1,
            "NetIncomeLoss": revenue * 0.08, "NetCashProvidedByUsedInOperatingActivities": revenue * 0.12,
            "PaymentsToAcquirePropertyPlantAndEquipment": revenue * 0.03}


def _fact(end: dt.date, val: float, form: str, start: dt.date | None = None) -> dict[str, Any]:
    fact: dict[str, Any] = {"end": end.isoformat(), "val": val, "accn": f"0000933972-{end:%y}-{end.month:06d}",
                            "fy": end.year, "fp": "FY" if form == "10-K" else f"Q{(end.month - 1) // 3 + 1}",
                            "form": form, "filed": filed_on(end).isoformat()}
    if start is not None:
        fact = {"start": start.isoformat(), **fact}
    return fact


def companyfacts() -> dict[str, Any]:
    """The companyfacts document: quarters in 10-Qs (three months), years in 10-Ks, instants at each end."""
    gaap: dict[str, list[dict[str, Any]]] = {}
    shares: list[dict[str, Any]] = []
    cover: list[dict[str, Any]] = []
    for i, end in enumerate(quarter_ends()):
        form = "10-K" if end.month == 12 else "10-Q"
        figures = _quarter_figures(i)
        if form == "10-Q":
            start = dt.date(end.year, end.month - 2, 1)
            for concept, value in figures.items():
                gaap.setdefault(concept, []).append(_fact(end, value, form, start))
        else:
            year = [_quarter_figures(j) for j in range(i - 3, i + 1)] if i >= 3 else [figures] * 4
            for concept in figures:
                gaap.setdefault(concept, []).append(
                    _fact(end, sum(q[concept] for q in year), form, dt.date(end.year, 1, 1)))
        assets = 80_000_000 + 2_000_000 * i
        for concept, value in {"Assets": assets, "Liabilities": assets * 0.4, "StockholdersEquity": assets * 0.6,
                               "AssetsCurrent": assets * 0.5, "LiabilitiesCurrent": assets * 0.2,
                               "CashAndCashEquivalentsAtCarryingValue": assets * 0.25}.items():
            gaap.setdefault(concept, []).append(_fact(end, value, form))
        shares.append(_fact(end, shares_reported(end), form))
        cover.append({**_fact(filed_on(end) - dt.timedelta(days=5), shares_reported(end), form),
                      "filed": filed_on(end).isoformat()})
    usd = {k: {"label": k, "description": k, "units": {"USD": v}} for k, v in gaap.items()}
    usd["CommonStockSharesOutstanding"] = {"label": "Shares", "description": "Shares", "units": {"shares": shares}}
    dei = {"EntityCommonStockSharesOutstanding": {"label": "Cover", "description": "Cover", "units": {"shares": cover}}}
    return {"cik": CIK, "entityName": NAME, "facts": {"dei": dei, "us-gaap": usd}}


def sessions(until: dt.date) -> list[dt.date]:
    days, day = [], FIRST_SESSION
    while day <= until:
        if day.weekday() < 5:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def raw_close(day: dt.date) -> float:
    """The close as traded on the post-split basis: 4 dollars plus a slow wave and a drift."""
    i = (day - FIRST_SESSION).days
    return round(4.0 + 0.5 * math.sin(i / 15.0) + 0.002 * i, 4)


def dividend_days(days: list[dt.date]) -> list[dt.date]:
    """The first session on or after the 15th of March, June, September and December."""
    out = []
    for month in (3, 6, 9, 12):
        for year in range(FIRST_SESSION.year, days[-1].year + 1):
            after = [d for d in days if d >= dt.date(year, month, 15)]
            if after and after[0] <= days[-1]:
                out.append(after[0])
    return sorted(out)


def _stamp(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(9, 30), NEW_YORK).timestamp())


def chart_result(until: dt.date) -> dict[str, Any]:
    """One v8 chart result: quote prices on today's split basis, adjclose also dividend-adjusted (Yahoo's rule:
    each close before an ex-date times 1 - dividend / the close before the ex-date)."""
    days = sessions(until)
    closes = [raw_close(d) for d in days]
    factors = [1.0] * len(days)
    for ex in dividend_days(days):
        k = days.index(ex)
        if k == 0:
            continue
        ratio = 1.0 - DIVIDEND / closes[k - 1]
        for j in range(k):
            factors[j] *= ratio
    return {
        "meta": {"currency": "USD", "symbol": TICKER, "exchangeName": "NCM", "instrumentType": "EQUITY",
                 "gmtoffset": -18000, "timezone": "EST", "exchangeTimezoneName": "America/New_York",
                 "dataGranularity": "1d", "range": ""},
        "timestamp": [_stamp(d) for d in days],
        "events": {
            "dividends": {str(_stamp(d)): {"amount": DIVIDEND, "date": _stamp(d)} for d in dividend_days(days)},
            "splits": {str(_stamp(SPLIT[0])): {"date": _stamp(SPLIT[0]), "numerator": SPLIT[1],
                                               "denominator": SPLIT[2], "splitRatio": f"{SPLIT[1]}:{SPLIT[2]}"}},
        },
        "indicators": {
            "quote": [{"open": [round(c * 0.995, 4) for c in closes], "high": [round(c * 1.01, 4) for c in closes],
                       "low": [round(c * 0.985, 4) for c in closes], "close": closes,
                       "volume": [100_000 + (i % 7) * 1_000 for i in range(len(days))]}],
            "adjclose": [{"adjclose": [c * f for c, f in zip(closes, factors)]}],
        },
    }


def submissions() -> dict[str, Any]:
    """The submissions document: its 10-Q/10-K filings and the one recorded Form 4, newest first."""
    rows = [(FORM4_ACCESSION, FORM4_FILED, "4", f"xslF345X05/{FORM4_DOCUMENT}")]
    for end in quarter_ends():
        form = "10-K" if end.month == 12 else "10-Q"
        rows.append((f"0000933972-{end:%y}-{end.month:06d}", filed_on(end), form, f"scwo-{end:%Y%m%d}.htm"))
    rows.sort(key=lambda r: r[1], reverse=True)
    recent = {"accessionNumber": [r[0] for r in rows], "filingDate": [r[1].isoformat() for r in rows],
              "form": [r[2] for r in rows], "primaryDocument": [r[3] for r in rows],
              "primaryDocDescription": ["FORM 4" if r[2] == "4" else r[2] for r in rows]}
    return {"cik": f"{CIK:010d}", "name": NAME, "tickers": [TICKER], "exchanges": ["Nasdaq"],
            "filings": {"recent": recent, "files": []}}
