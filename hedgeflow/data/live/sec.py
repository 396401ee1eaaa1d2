"""SEC EDGAR documents: the ticker list, a company's submissions and where its Form 4s are.

``company_tickers.json`` maps ticker -> CIK (an integer, ``cik_str`` despite
its name); companyfacts and submissions are addressed by the CIK zero-padded
to ten digits. ``filings.recent`` is column-oriented (parallel arrays, newest
first); older filings sit in paged files listed under ``filings.files``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Company",
    "Form4Ref",
    "companyfacts_path",
    "form4_path",
    "form4_refs",
    "older_submission_files",
    "parse_company_tickers",
    "search_companies",
    "submissions_path",
]

TICKERS_PATH = "/files/company_tickers.json"


@dataclass(frozen=True)
class Company:
    ticker: str
    cik: int
    title: str


@dataclass(frozen=True)
class Form4Ref:
    """One Form 4 filing: its accession number, filing date and raw XML document name."""

    accession: str
    filing_date: dt.date
    document: str


def parse_company_tickers(body: Mapping[str, Any]) -> dict[str, Company]:
    """Ticker -> Company from ``company_tickers.json`` (keys are row indices; the first row of a ticker wins)."""
    out: dict[str, Company] = {}
    for row in body.values():
        ticker = str(row["ticker"]).upper()
        out.setdefault(ticker, Company(ticker, int(row["cik_str"]), str(row["title"])))
    return out


def search_companies(companies: Mapping[str, Company], text: str) -> list[Company]:
    """Companies whose ticker or name contains ``text`` (case-insensitive); exact tickers first."""
    needle = text.strip().lower()
    hits = [c for c in companies.values() if needle in c.title.lower() or needle in c.ticker.lower()]
    return sorted(hits, key=lambda c: (c.ticker.lower() != needle, not c.title.lower().startswith(needle), c.ticker))


def companyfacts_path(cik: int) -> str:
    return f"/api/xbrl/companyfacts/CIK{cik:010d}.json"


def submissions_path(cik: int, name: str | None = None) -> str:
    """The submissions document, or one of its older paged files (``CIK##########-submissions-001.json``)."""
    return f"/submissions/{name or f'CIK{cik:010d}.json'}"


def form4_refs(columns: Mapping[str, Any], start: dt.date, end: dt.date) -> list[Form4Ref]:
    """Form 4 filings made from ``start`` to ``end`` (point in time by filing date), newest first.

    ``primaryDocument`` names the XSL-rendered page (``xslF345X05/x.xml``); the raw
    XML is the same file name without that folder.
    """
    refs = []
    for form, accession, filed, document in zip(
        columns.get("form", []), columns.get("accessionNumber", []),
        columns.get("filingDate", []), columns.get("primaryDocument", []),
    ):
        if form != "4" or not document:
            continue
        day = dt.date.fromisoformat(filed)
        if start <= day <= end:
            refs.append(Form4Ref(str(accession), day, str(document).rsplit("/", 1)[-1]))
    return sorted(refs, key=lambda r: (r.filing_date, r.accession), reverse=True)


def older_submission_files(submissions: Mapping[str, Any], start: dt.date, end: dt.date) -> list[str]:
    """Names of the paged files whose filing range meets [start, end]: needed when the window predates ``recent``."""
    recent = submissions.get("filings", {}).get("recent", {})
    dates = recent.get("filingDate") or []
    if dates and min(dates) <= start.isoformat():
        return []  # ``recent`` already reaches back past the window
    names = []
    for entry in submissions.get("filings", {}).get("files", []):
        if entry.get("filingFrom", "") <= end.isoformat() and entry.get("filingTo", "") >= start.isoformat():
            names.append(str(entry["name"]))
    return names


def form4_path(cik: int, ref: Form4Ref) -> str:
    """The raw Form 4 XML in the filing's archive folder (under the issuer's CIK)."""
    return f"/Archives/edgar/data/{cik}/{ref.accession.replace('-', '')}/{ref.document}"
