"""The live provider: SEC EDGAR facts and Form 4s, keyless daily prices and headlines, for any US ticker.

It is the offline provider with other sources: the same XBRL parsing, the same
point-in-time rules and the same metrics code run on the companyfacts document
SEC serves today (the bundle holds that very document). What differs:

- share counts are put on the price basis with the price service's own split
  events (the bundle uses a table of the splits it spans);
- market cap uses the close as traded, analysis the adjusted bars;
- insider trades come from Form 4s filed in the window, headlines from the RSS
  feed (``None``, missing, when the feed cannot reach back to a past window).

Each document is fetched once per ``DOCUMENT_TTL_S`` however many datasets
need it (several fetch tasks run at once); the ticker list is kept on disk for
a day. SEC requests pass the rate limiter (10 per second).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

from hedgeflow.data.live.calendar import NEW_YORK, last_completed_session
from hedgeflow.data.live.chart import HISTORY_FIRST, Chart, chart_params, chart_path, parse_chart
from hedgeflow.data.live.form4 import insider_trades, parse_form4
from hedgeflow.data.live.http import DocumentMemo, LiveHttp, RateLimiter
from hedgeflow.data.live.news import NEWS_PATH, headlines_in_window, parse_rss
from hedgeflow.data.live.sec import (
    TICKERS_PATH,
    Company,
    Form4Ref,
    companyfacts_path,
    form4_path,
    form4_refs,
    older_submission_files,
    parse_company_tickers,
    search_companies,
    submissions_path,
)
from hedgeflow.data.live.settings import LiveSettings
from hedgeflow.data.offline import OfflineProvider, periods_known_at
from hedgeflow.data.xbrl import CompanyFacts, Periods, parse_company_facts
from hedgeflow.errors import DataUnavailableError
from hedgeflow.paths import home
from hedgeflow.schemas import CompanyNews, InsiderTrade, Price

__all__ = ["DOCUMENT_TTL_S", "MAX_FORM4_PER_WINDOW", "TICKER_LIST_TTL_S", "LiveProvider"]

DOCUMENT_TTL_S = 300.0  # facts, charts, submissions and feeds change during the day
TICKER_LIST_TTL_S = 86_400.0  # SEC rebuilds company_tickers.json daily
MAX_FORM4_PER_WINDOW = 200  # the newest Form 4s of a window; each is one SEC request


class LiveProvider(OfflineProvider):
    """DataProvider over SEC EDGAR, the v8 chart endpoint and the RSS headline feed."""

    name = "live"

    def __init__(
        self,
        settings: LiveSettings | None = None,
        sec_limiter: RateLimiter | None = None,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        cache_dir: Path | None = None,
    ) -> None:
        self.settings = settings or LiveSettings.from_env()
        self.http = LiveHttp(self.settings, sec_limiter)
        self._now = now
        self._cache_dir = cache_dir
        self._documents = DocumentMemo(DOCUMENT_TTL_S)
        self._filings = DocumentMemo(float("inf"))  # a filed Form 4 never changes

    def __repr__(self) -> str:
        return f"LiveProvider(sec={self.settings.sec_data_url!r}, prices={self.settings.prices_url!r})"

    def close(self) -> None:
        self.http.close()

    # ------------------------------------------------------------------ tickers

    def companies(self) -> dict[str, Company]:
        """SEC's ticker list (ticker -> CIK and name), from a file kept for a day."""
        return self._documents.get(("tickers",), self._load_companies)

    def _load_companies(self) -> dict[str, Company]:
        url_digest = hashlib.sha256(self.settings.sec_www_url.encode()).hexdigest()[:12]
        path = (self._cache_dir or home() / "live") / f"company_tickers-{url_digest}.json"
        if path.exists() and time.time() - path.stat().st_mtime < TICKER_LIST_TTL_S:
            try:
                return parse_company_tickers(json.loads(path.read_text()))
            except (ValueError, KeyError):
                pass  # a damaged file: fetch again
        body = self.http.json("sec_www", TICKERS_PATH, "the ticker list")
        companies = parse_company_tickers(body)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        tmp.replace(path)
        return companies

    def search(self, text: str) -> list[Company]:
        return search_companies(self.companies(), text)

    def last_session(self) -> dt.date:
        return last_completed_session(self._now())

    def tickers(self) -> dict[str, tuple[dt.date, dt.date]]:
        """Every ticker SEC lists, each from 2009 to the last completed session."""
        last = self.last_session()
        return {ticker: (HISTORY_FIRST, last) for ticker in self.companies()}

    def _check(self, ticker: str, end: dt.date) -> str:
        symbol = ticker.strip().upper().replace(".", "-")
        if symbol not in self.companies():
            raise DataUnavailableError(
                f"SEC lists no ticker {ticker!r}; find one with: hedgeflow tickers --data-provider live --search NAME"
            )
        today = self._now().astimezone(NEW_YORK).date()
        if end > today:
            raise DataUnavailableError(f"{end} is in the future; the live data ends today ({today})")
        return symbol

    # ------------------------------------------------------------------ documents

    def _chart(self, symbol: str) -> Chart:
        def fetch() -> Chart:
            body = self.http.json("prices", chart_path(symbol), f"prices for {symbol}",
                                  chart_params(HISTORY_FIRST, self._now()), accept=frozenset({200, 400, 404}))
            return parse_chart(body, symbol)

        return self._documents.get(("chart", symbol), fetch)

    def _facts(self, symbol: str) -> CompanyFacts | None:
        """The companyfacts document, share counts on the chart's split basis; None when SEC has none (a fund)."""
        def fetch() -> CompanyFacts | None:
            cik = self.companies()[symbol].cik
            try:
                raw = self.http.json("sec_data", companyfacts_path(cik), f"company facts for {symbol}")
            except DataUnavailableError:
                return None
            return parse_company_facts(raw, symbol, splits=self._chart(symbol).splits)

        return self._documents.get(("facts", symbol), fetch)

    def _periods_at(self, symbol: str, day: dt.date) -> Periods:
        return self._documents.get(("periods", symbol, day), lambda: periods_known_at(self._facts(symbol), day))

    def _market_close(self, symbol: str, day: dt.date) -> float | None:
        """The close as traded on or before ``day`` (split basis of today, no dividend adjustment)."""
        chart = self._chart(symbol)
        i = bisect.bisect_right(chart.dates, min(day, self.last_session()))
        return chart.closes[i - 1] if i else None

    # ------------------------------------------------------------------ datasets

    def get_prices(self, ticker: str, start: dt.date, end: dt.date) -> list[Price]:
        """Adjusted daily bars from ``start`` to ``end``, completed sessions only."""
        symbol = self._check(ticker, end)
        chart = self._chart(symbol)
        last = min(end, self.last_session())
        if not chart.dates or chart.dates[0] > last:
            raise DataUnavailableError(f"the price service has no prices for {symbol} on or before {end}")
        lo, hi = bisect.bisect_left(chart.dates, start), bisect.bisect_right(chart.dates, last)
        return list(chart.adjusted[lo:hi])

    def get_insider_trades(self, ticker: str, start: dt.date, end: dt.date) -> list[InsiderTrade] | None:
        """Open-market buys and sells from the Form 4s filed from ``start`` to ``end``."""
        symbol = self._check(ticker, end)
        cik = self.companies()[symbol].cik
        submissions = self._documents.get(
            ("submissions", symbol),
            lambda: self.http.json("sec_data", submissions_path(cik), f"filings of {symbol}"),
        )
        refs = form4_refs(submissions.get("filings", {}).get("recent", {}), start, end)
        for name in older_submission_files(submissions, start, end):
            page = self._documents.get(("submissions", symbol, name), functools.partial(
                self.http.json, "sec_data", submissions_path(cik, name), f"older filings of {symbol}"))
            refs += form4_refs(page, start, end)
        trades: list[InsiderTrade] = []
        for ref in sorted(set(refs), key=lambda r: (r.filing_date, r.accession), reverse=True)[:MAX_FORM4_PER_WINDOW]:
            document = self._filings.get(("form4", cik, ref.accession), functools.partial(self._form4, cik, ref))
            if document is not None:
                trades += insider_trades(parse_form4(document), symbol, ref.filing_date)
        return trades

    def _form4(self, cik: int, ref: Form4Ref) -> bytes | None:
        try:
            return self.http.get("sec_www", form4_path(cik, ref), f"Form 4 {ref.accession}").content
        except DataUnavailableError:
            return None  # listed but not in the archive: nothing to read

    def get_company_news(self, ticker: str, start: dt.date, end: dt.date) -> list[CompanyNews] | None:
        """Headlines published from ``start`` to ``end``; None when the feed does not reach back that far."""
        symbol = self._check(ticker, end)

        def fetch() -> bytes | None:
            try:
                return self.http.get("news", NEWS_PATH, f"headlines for {symbol}",
                                     {"s": symbol, "region": "US", "lang": "en-US"}).content
            except DataUnavailableError:
                return None

        feed = self._documents.get(("news", symbol), fetch)
        if feed is None:
            return None
        items = parse_rss(feed)
        today = self._now().astimezone(NEW_YORK).date()
        return headlines_in_window(items, symbol, start, end, today)
