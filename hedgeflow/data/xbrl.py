"""Annual, quarterly and trailing-twelve-month line items from SEC XBRL company facts.

Point in time: ``known_at(facts, day)`` keeps only facts filed on or before
``day`` and, where several filings report the same period (a later 10-K
restating a comparative), the one filed last. Everything else derives from
that view, so nothing filed after ``day`` can leak into an analysis.

Quarters: 10-Qs report cash flows year to date and 10-Ks report only the
year, so a quarter is the reported three-month figure, else the difference
of two cumulative figures three months apart (Q4 = FY - 9M), else the year
minus its three reported quarters.

TTM: last fiscal year + current year to date - prior-year year to date, so a
restatement the current 10-Q carries in its comparative reaches the TTM; a
TTM ending on a fiscal year end is that year's figure. Four quarters are
summed only where a part of that formula is not reported.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import hedgeflow.data.concepts as c
from hedgeflow.schemas import LINE_ITEM_FIELDS, LineItem, Period

__all__ = [
    "CompanyFacts",
    "Fact",
    "FactView",
    "PeriodValues",
    "Periods",
    "derive_periods",
    "finish",
    "known_at",
    "non_cash_working_capital",
    "parse_company_facts",
    "quarterize",
    "to_line_item",
    "trailing_twelve_months",
]

DAY = dt.timedelta(days=1)
Key = tuple[dt.date | None, dt.date]  # (start, end); start is None for instants
CARRY_SHARES_DAYS = 120  # a quarter without a share count borrows the previous quarter's
DEI_WINDOW_DAYS = 100  # cover-page counts are dated a few weeks after the period end
YTD_MAX_DAYS = 290  # a nine-month year to date ends at most about 280 days after the fiscal year end


@dataclass(frozen=True, slots=True)
class Fact:
    start: dt.date | None
    end: dt.date
    val: float
    filed: dt.date


CompanyFacts = dict[str, tuple[Fact, ...]]  # concept -> facts sorted by filed date
FactView = dict[str, dict[Key, float]]  # concept -> period -> value known at a date


@dataclass(frozen=True)
class PeriodValues:
    """One period's values: line-item fields plus the extras metrics need (tax, inventory)."""

    start: dt.date
    end: dt.date
    values: dict[str, float | None]


@dataclass(frozen=True)
class Periods:
    annual: list[PeriodValues] = field(default_factory=list)  # newest first, as are the others
    quarterly: list[PeriodValues] = field(default_factory=list)
    ttm: list[PeriodValues] = field(default_factory=list)
    share_counts: list[tuple[dt.date, float]] = field(default_factory=list)  # (as-of date, adjusted), oldest first


def parse_company_facts(
    raw: Mapping[str, Any], ticker: str, splits: c.Splits | None = None
) -> CompanyFacts:
    """Flatten SEC company-facts JSON into Facts from 10-K/10-Q filings, share counts split-adjusted.

    ``splits`` (date, ratio) replaces the bundled table: the live provider passes the price service's.
    """
    out: dict[str, list[Fact]] = defaultdict(list)
    taxonomies = raw.get("facts", {})
    for taxonomy in ("us-gaap", "dei"):
        for concept, body in taxonomies.get(taxonomy, {}).items():
            for unit, facts in body.get("units", {}).items():
                if unit not in ("USD", "shares", "USD/shares"):
                    continue
                for f in facts:
                    if not str(f.get("form", "")).startswith("10-"):
                        continue  # 8-K exhibits and proxy statements repeat 10-K figures
                    filed = dt.date.fromisoformat(f["filed"])
                    val = float(f["val"])
                    if unit == "shares":
                        val *= c.split_factor(ticker, filed, splits)
                    elif unit == "USD/shares":
                        val /= c.split_factor(ticker, filed, splits)
                    start = dt.date.fromisoformat(f["start"]) if f.get("start") else None
                    out[concept].append(Fact(start, dt.date.fromisoformat(f["end"]), val, filed))
    return {concept: tuple(sorted(facts, key=lambda f: f.filed)) for concept, facts in out.items()}


def known_at(facts: CompanyFacts, day: dt.date) -> FactView:
    """Per concept and period, the value of the latest filing made on or before ``day``."""
    view: FactView = {}
    for concept, series in facts.items():
        periods: dict[Key, float] = {}
        for f in series:
            if f.filed > day:
                break
            periods[(f.start, f.end)] = f.val
        if periods:
            view[concept] = periods
    return view


def _days(key: Key) -> int:
    return (key[1] - key[0]).days if key[0] is not None else 0


def _is(key: Key, window: tuple[int, int]) -> bool:
    return window[0] <= _days(key) <= window[1]


def quarterize(durations: Mapping[Key, float]) -> dict[Key, float]:
    """Three-month values of one additive concept: reported, cumulative differences, FY - Q1..Q3."""
    out = {k: v for k, v in durations.items() if _is(k, c.QUARTER_DAYS)}
    by_start: dict[dt.date, list[tuple[dt.date, float]]] = defaultdict(list)
    for (start, end), v in durations.items():
        if start is not None:
            by_start[start].append((end, v))
    for cumulative in by_start.values():
        cumulative.sort()
        for (e1, v1), (e2, v2) in zip(cumulative, cumulative[1:]):
            key = (e1 + DAY, e2)
            if _is(key, c.QUARTER_DAYS):
                out.setdefault(key, v2 - v1)
    starts = {k[0]: k for k in out}
    for (start, end), total in durations.items():
        if start is None or not _is((start, end), c.ANNUAL_DAYS) or any(k[1] == end for k in out):
            continue
        chain: list[Key] = []
        cursor = start
        while len(chain) < 3 and cursor in starts:
            chain.append(starts[cursor])
            cursor = starts[cursor][1] + DAY
        if len(chain) == 3 and _is((cursor, end), c.QUARTER_DAYS):
            out[(cursor, end)] = total - sum(out[k] for k in chain)
    return out


def trailing_twelve_months(durations: Mapping[Key, float], end: dt.date) -> float | None:
    """TTM ending ``end`` the way an analyst builds it: last fiscal year + current YTD - prior-year YTD.

    At a fiscal year end it is that year's annual figure. Each figure is the latest
    filing's for its period, so the prior-year YTD is the comparative the current
    10-Q restates it to (TSLA to 2025-03-31: 7,091 - 1,390 + 409 = 6,110 M USD), not
    the number its own 10-Q first reported. ``None`` when a part is not reported
    (the caller then sums four quarters).
    """
    years = [k for k in durations if k[1] <= end and _is(k, c.ANNUAL_DAYS)]
    if not years:
        return None
    last = max(years, key=lambda k: k[1])
    if last[1] == end:
        return durations[last]
    if not c.QUARTER_DAYS[0] <= (end - last[1]).days <= YTD_MAX_DAYS:
        return None  # no fiscal year ended in the last nine months or so: no YTD to add
    ytd = durations.get((last[1] + DAY, end))
    prior = [
        v for k, v in durations.items()
        if k[0] == last[0] and k[1] < last[1] and c.ANNUAL_DAYS[0] <= (end - k[1]).days <= c.ANNUAL_DAYS[1]
    ]
    if ytd is None or len(prior) != 1:
        return None
    return durations[last] + ytd - prior[0]


def _first(view: FactView, concepts: tuple[str, ...], key: Key) -> float | None:
    for concept in concepts:
        value = view.get(concept, {}).get(key)
        if value is not None:
            return value
    return None


def _total(*parts: float | None) -> float | None:
    """Sum of the parts that are reported; None when none is."""
    present = [p for p in parts if p is not None]
    return sum(present) if present else None


def finish(raw: Mapping[str, float | None]) -> dict[str, float | None]:
    """Derive line-item fields from raw concept values (signs as financialdatasets)."""
    v: dict[str, float | None] = {name: None for name in LINE_ITEM_FIELDS}
    v.update(raw)
    rev, cost = v.get("revenue"), v.get("cost_of_revenue")
    if v.get("gross_profit") is None and rev is not None and cost is not None:
        v["gross_profit"] = rev - cost
    op, pretax, interest = v.get("operating_income"), v.get("pretax_income"), v.get("interest_expense")
    ebit = op if op is not None else (pretax + interest if pretax is not None and interest is not None else None)
    v["ebit"] = ebit
    da = v.get("depreciation_and_amortization")
    if da is None and v.get("depreciation") is not None:
        da = _total(v.get("depreciation"), v.get("amortization"))
    v["depreciation_and_amortization"] = da
    v["ebitda"] = ebit + da if ebit is not None and da is not None else None
    capex = v.get("capex_paid")
    v["capital_expenditure"] = -abs(capex) if capex is not None else None
    ocf = v.get("operating_cash_flow")
    v["free_cash_flow"] = ocf - abs(capex) if ocf is not None and capex is not None else None
    paid = v.get("dividends_paid")
    v["dividends_and_other_cash_distributions"] = -abs(paid) if paid is not None else None
    bought = v.get("buybacks_paid")
    v["issuance_or_purchase_of_equity_shares"] = -abs(bought) if bought is not None else None
    both, equity = v.get("liabilities_and_equity"), v.get("equity_including_nci") or v.get("shareholders_equity")
    if v.get("total_liabilities") is None and both is not None and equity is not None:
        v["total_liabilities"] = both - equity
    long_term = v.get("long_term_debt")
    if long_term is None:
        long_term = _total(v.get("long_term_debt_noncurrent"), v.get("long_term_debt_current"))
    v["total_debt"] = _total(long_term, v.get("commercial_paper"), v.get("short_term_borrowings"))
    v["goodwill_and_intangible_assets"] = _total(v.get("goodwill"), v.get("intangibles"))
    v["working_capital"] = non_cash_working_capital(v)
    return v


def non_cash_working_capital(v: Mapping[str, float | None]) -> float | None:
    """(current assets - cash - marketable securities) - (current liabilities - current debt), USD.

    Current debt is ``DebtCurrent`` where reported, else the current portion of
    long-term debt + commercial paper + short-term borrowings. Cash and debt are
    financing, not operations: a change in them is not reinvestment, and the DCF's
    equity bridge adds cash (and subtracts debt) once, there. ``None`` without
    current assets and liabilities.
    """
    ca, cl = v.get("current_assets"), v.get("current_liabilities")
    if ca is None or cl is None:
        return None
    debt = v.get("debt_current")
    if debt is None:
        debt = _total(v.get("long_term_debt_current"), v.get("commercial_paper"), v.get("short_term_borrowings"))
    return (ca - (v.get("cash_and_equivalents") or 0.0) - (v.get("marketable_securities") or 0.0)) - (cl - (debt or 0.0))


def _shares_at(view: FactView, end: dt.date) -> float | None:
    """Adjusted share count for a period ending ``end``, best first: the cover page (dei
    EntityCommonStockSharesOutstanding, dated weeks after the period end), the balance sheet,
    the basic then the diluted weighted average, and dividends / dividends per share (V)."""
    dei = view.get(c.DEI_SHARES_CONCEPT, {})
    cover = sorted((k[1], v) for k, v in dei.items() if 0 <= (k[1] - end).days <= DEI_WINDOW_DAYS)
    if cover:
        return cover[0][1]
    count = view.get("CommonStockSharesOutstanding", {}).get((None, end))
    if count is not None:
        return count
    for concept in c.SHARE_DURATION_CONCEPTS:
        spans = sorted((_days(k), v) for k, v in view.get(concept, {}).items() if k[1] == end and k[0] is not None)
        if spans:
            return spans[0][1]
    # Visa reports no share count; dividends over dividends per share give the as-converted count.
    per_share = view.get(c.DIVIDEND_PER_SHARE_CONCEPT, {})
    for concept in c.FLOW_CONCEPTS["dividends_declared"]:
        for key, paid in view.get(concept, {}).items():
            if key[1] == end and _is(key, c.QUARTER_DAYS) and per_share.get(key):
                return paid / per_share[key]
    return None


def _field_durations(view: FactView) -> dict[str, dict[Key, float]]:
    """Each flow field's duration values, its candidate concepts merged per period.

    Merging before quarterizing survives a tag change inside a fiscal year (NVDA's
    capex moved to PaymentsToAcquireProductiveAssets between a 9M and an FY figure).
    Revenue takes the largest candidate per period: the total, not a component.
    """
    fields: dict[str, dict[Key, float]] = {"revenue": {}}
    for concept in c.REVENUE_CONCEPTS:
        for key, value in view.get(concept, {}).items():
            if key[0] is not None:
                fields["revenue"][key] = max(value, fields["revenue"].get(key, value))
    for name, candidates in c.FLOW_CONCEPTS.items():
        merged: dict[Key, float] = {}
        for concept in reversed(candidates):  # the first candidate wins a shared period
            merged.update({k: v for k, v in view.get(concept, {}).items() if k[0] is not None})
        fields[name] = merged
    return fields


def _values(view: FactView, flows: Mapping[str, Mapping[Key, float]], key: Key) -> dict[str, float | None]:
    raw: dict[str, float | None] = {name: flows[name].get(key) for name in c.FLOW_FIELDS}
    for name, candidates in c.STOCK_CONCEPTS.items():
        raw[name] = _first(view, candidates, (None, key[1]))
    raw["outstanding_shares"] = _shares_at(view, key[1])
    return raw


def derive_periods(view: FactView) -> Periods:
    """Annual, quarterly and ttm values from one point-in-time view, newest first."""
    annual_flows = _field_durations(view)
    quarter_flows = {name: quarterize(values) for name, values in annual_flows.items()}
    annual_keys = {k for x in ("revenue", "net_income") for k in annual_flows[x] if _is(k, c.ANNUAL_DAYS)}
    quarter_keys = {k for x in ("revenue", "net_income") for k in quarter_flows[x]}

    quarters_raw: list[tuple[Key, dict[str, float | None]]] = []
    counted: tuple[dt.date, float] | None = None  # the last quarter end with its own share count
    for key in sorted(quarter_keys, key=lambda k: k[1]):
        raw = _values(view, quarter_flows, key)
        shares = raw["outstanding_shares"]
        if shares is not None:
            counted = (key[1], shares)
        elif counted is not None and (key[1] - counted[0]).days <= CARRY_SHARES_DAYS:
            raw["outstanding_shares"] = counted[1]
        quarters_raw.append((key, raw))
    by_end = {k[1]: raw for k, raw in quarters_raw}

    annual = []
    for key in sorted(annual_keys, key=lambda k: k[1], reverse=True):
        raw = _values(view, annual_flows, key)
        if raw["outstanding_shares"] is None and key[1] in by_end:
            raw["outstanding_shares"] = by_end[key[1]]["outstanding_shares"]
        annual.append(_period_values(key, key, raw))

    ttm = []
    for i in range(3, len(quarters_raw)):
        window = quarters_raw[i - 3 : i + 1]
        if all(window[j + 1][0][0] == window[j][0][1] + DAY for j in range(3)):
            raw = dict(window[-1][1])
            for name in c.FLOW_FIELDS:
                raw[name] = trailing_twelve_months(annual_flows[name], window[-1][0][1])
                if raw[name] is None:
                    parts = [q[name] for _, q in window]
                    raw[name] = sum(p for p in parts if p is not None) if all(p is not None for p in parts) else None
            ttm.append(_period_values(window[0][0], window[-1][0], raw))

    counts = [(k[1], v) for k, v in view.get(c.DEI_SHARES_CONCEPT, {}).items()]
    for k, raw in quarters_raw:
        shares = raw["outstanding_shares"]
        if shares is not None:
            counts.append((k[1], shares))
    return Periods(
        annual=annual,
        quarterly=[_period_values(k, k, raw) for k, raw in reversed(quarters_raw)],
        ttm=ttm[::-1],
        share_counts=sorted(counts),
    )


def _period_values(first: Key, last: Key, raw: Mapping[str, float | None]) -> PeriodValues:
    """PeriodValues spanning ``first``'s start to ``last``'s end (both duration keys)."""
    start = first[0]
    if start is None:
        raise ValueError(f"{first} is an instant, not a period")
    return PeriodValues(start, last[1], finish(raw))


def to_line_item(ticker: str, values: PeriodValues, period: Period) -> LineItem:
    """The public LineItem for one period (the extra internal values are dropped)."""
    fields: dict[str, Any] = {name: values.values.get(name) for name in LINE_ITEM_FIELDS}  # float | None each
    return LineItem(ticker=ticker, report_period=values.end.isoformat(), period=period, **fields)
