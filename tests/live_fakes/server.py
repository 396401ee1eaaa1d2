"""Fake SEC EDGAR (data.sec.gov and www.sec.gov), v8 chart and RSS headline servers, in one loopback app.

Paths, shapes, headers and status codes follow the recordings in ``data/``
(see its README): ``company_tickers.json`` (the recorded first 20 rows plus
SCWO), companyfacts (the bundled documents, byte for byte), submissions
(Apple's recorded document plus the one recorded Apple Form 4 filing; an
empty ``recent`` for companies without a recording), Form 4 XML under
``/Archives``, S3-style 404 XML, and the v8 chart built from the bundled
daily bars (close = adjclose: the bundled prices are already adjusted) with
the bundle's split events. SEC's rules are enforced: a User-Agent without a
name and an e-mail gets the recorded 403 "undeclared automated tool" page;
more than 10 requests within a second get the recorded traffic-limit page
(403) and every SEC request is refused for ``block_s``. Yahoo's failure modes
are queued with ``POST /admin/mode {"next": [...]}``: ``rate_limit`` (429 with
Retry-After), ``rate_limit_bare`` (429 without it), ``html`` (a page with
200), ``chart_error`` (an error object in a 200 body). No RSS recording
exists: headlines are synthetic, dated back from the server's clock.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
import time
from collections import deque
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import Response

from bench import FakeState, add_admin_routes
from hedgeflow.data.concepts import SPLITS
from hedgeflow.data.offline import BUNDLED_DIR
from tests.live_fakes import synthetic

__all__ = ["APPLE_FORM4", "create_app"]

DATA = Path(__file__).parent / "data"
NEW_YORK = ZoneInfo("America/New_York")
APPLE_CIK = 320193
APPLE_FORM4 = ("0000320193-22-000061", "2022-05-06", "wf-form4_165187623819106.xml")  # the recorded filing
EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
JSON = "application/json"
YAHOO_JSON = "application/json;charset=utf-8"
SEC_PREFIXES = ("/files/", "/api/xbrl/", "/submissions/", "/Archives/")


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


@cache
def company_rows() -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = json.loads(_read("sec_company_tickers.sample.json"))
    rows[str(len(rows))] = {"cik_str": synthetic.CIK, "ticker": synthetic.TICKER, "title": synthetic.NAME}
    return rows


def _cik_tickers() -> dict[int, str]:
    return {int(r["cik_str"]): str(r["ticker"]) for r in company_rows().values()}


@cache
def bundled_bars(ticker: str) -> list[dict[str, str]]:
    with gzip.open(BUNDLED_DIR / "prices" / f"{ticker}.csv.gz", "rt", newline="") as handle:
        return list(csv.DictReader(handle))


def _stamp(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(9, 30), NEW_YORK).timestamp())


def bundled_chart(ticker: str) -> dict[str, Any]:
    rows = bundled_bars(ticker)
    closes = [float(r["close"]) for r in rows]
    splits = {str(_stamp(d)): {"date": _stamp(d), "numerator": ratio, "denominator": 1, "splitRatio": f"{ratio:g}:1"}
              for d, ratio in SPLITS.get(ticker, ())}
    result: dict[str, Any] = {
        "meta": {"currency": "USD", "symbol": ticker, "instrumentType": "EQUITY", "gmtoffset": -18000,
                 "timezone": "EST", "exchangeTimezoneName": "America/New_York", "dataGranularity": "1d", "range": ""},
        "timestamp": [_stamp(dt.date.fromisoformat(r["date"])) for r in rows],
        "indicators": {"quote": [{k: [float(r[k]) for r in rows] for k in ("open", "high", "low", "close")}
                                 | {"volume": [int(float(r["volume"])) for r in rows]}],
                       "adjclose": [{"adjclose": closes}]},
    }
    if splits:
        result["events"] = {"splits": splits}
    return result


def _window(result: dict[str, Any], period1: int, period2: int) -> dict[str, Any]:
    """Only the bars (and events) from period1 to period2, as the real endpoint answers."""
    keep = [i for i, ts in enumerate(result["timestamp"]) if period1 <= ts < period2]
    quote = {k: [v[i] for i in keep] for k, v in result["indicators"]["quote"][0].items()}
    adj = [result["indicators"]["adjclose"][0]["adjclose"][i] for i in keep]
    out = {**result, "timestamp": [result["timestamp"][i] for i in keep],
           "indicators": {"quote": [quote], "adjclose": [{"adjclose": adj}]}}
    if "events" in result:
        out["events"] = {kind: {k: e for k, e in events.items() if period1 <= e["date"] < period2}
                         for kind, events in result["events"].items()}
    return out


def apple_submissions() -> dict[str, Any]:
    """The recorded document, with the recorded 2022 Form 4 filing added at the end of ``recent``."""
    body: dict[str, Any] = json.loads(_read("sec_submissions_CIK0000320193.sample.json"))
    recent = body["filings"]["recent"]
    accession, filed, document = APPLE_FORM4
    extra = {"accessionNumber": accession, "filingDate": filed, "reportDate": "2022-05-04",
             "acceptanceDateTime": "2022-05-06T22:30:57.000Z", "act": "", "form": "4", "fileNumber": "",
             "filmNumber": "", "items": "", "core_type": "4", "size": 16362, "isXBRL": 0, "isInlineXBRL": 0,
             "primaryDocument": f"xslF345X03/{document}", "primaryDocDescription": "FORM 4"}
    for key, values in recent.items():
        values.append(extra.get(key, ""))
    return body


def not_found(key: str) -> Response:
    body = _read("sec_submissions_error_not_found.xml").replace(b"submissions/CIK-000000001.json", key.encode())
    return Response(body, status_code=404, media_type="application/xml")


def rss(symbol: str, now: dt.datetime) -> bytes:
    items = "".join(
        f"<item><description>Synthetic story {k} on {symbol}.</description><guid isPermaLink=\"false\">{symbol}-{k}</guid>"
        f"<link>https://finance.example.com/{symbol.lower()}-{k}.html?.tsrc=rss</link>"
        f"<pubDate>{format_datetime(now - dt.timedelta(hours=6 * k), usegmt=False)}</pubDate>"
        f"<title>{symbol} headline {k}</title></item>"
        for k in range(20)
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><copyright>Copyright (c) fake'
            f"</copyright><description>Latest Financial News for {symbol}</description>"
            f"<title>Yahoo! Finance: {symbol} News</title>{items}</channel></rss>").encode()


class LiveFakeState(FakeState):
    """FakeState plus SEC's throttle: recent request times and the end of a block; reset clears both."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.sec_times: deque[float] = deque()
        self.blocked_until = 0.0

    def reset_counters(self) -> None:
        super().reset_counters()
        self.sec_times.clear()
        self.blocked_until = 0.0


def create_app(*, block_s: float = 600.0, sec_limit_per_s: int = 10, retry_after_s: int = 2,
               now: Any = None) -> FastAPI:
    """The fake app; ``now`` (a callable returning an aware datetime) fixes the clock headlines are dated by."""
    app = FastAPI(title="fake SEC EDGAR + chart + RSS")
    state = LiveFakeState(retry_after_s=retry_after_s)
    app.state.fake = state
    add_admin_routes(app, state)
    clock = now or (lambda: dt.datetime.now(dt.UTC))

    def record(path: str, status: int, kind: str) -> None:
        state.record(path, status)
        state.counters[kind] += 1

    def sec_gate(request: Request) -> Response | None:
        path = request.url.path
        agent = request.headers.get("user-agent", "")
        if not EMAIL.search(agent) or not EMAIL.sub("", agent).strip():
            record(path, 403, "sec")
            return Response(_read("sec_error_undeclared_automated_tool.html"), 403, media_type="text/html")
        moment = time.monotonic()
        times = state.sec_times
        while times and moment - times[0] >= 1.0:
            times.popleft()
        times.append(moment)
        if moment < state.blocked_until or len(times) > sec_limit_per_s:
            state.blocked_until = max(state.blocked_until, moment + block_s)
            state.counters["sec_rate_limited"] += 1
            record(path, 403, "sec")
            return Response(_read("sec_error_request_rate_threshold_exceeded.html"), 403, media_type="text/html")
        return None

    def yahoo_fault(path: str) -> Response | None:
        fault = state.queue.popleft() if state.queue else None
        if fault is None:
            return None
        if fault == "rate_limit":
            record(path, 429, "yahoo")
            return Response(b"Edge: Too Many Requests", 429, media_type="text/plain",
                            headers={"retry-after": str(retry_after_s)})
        if fault == "rate_limit_bare":
            record(path, 429, "yahoo")
            return Response(b"Edge: Too Many Requests", 429, media_type="text/plain")
        if fault == "html":
            record(path, 200, "yahoo")
            return Response(b"<!DOCTYPE html><html><body>Will be right back...</body></html>", 200,
                            media_type="text/html")
        record(path, 200, "yahoo")  # chart_error: an error object in a 200 body
        return Response(b'{"chart":{"result":null,"error":{"code":"Internal Server Error",'
                        b'"description":"Unexpected error"}}}', 200, media_type=YAHOO_JSON)

    @app.middleware("http")
    async def gates(request: Request, call_next: Any) -> Any:
        path = request.url.path
        if path.startswith(SEC_PREFIXES):
            refused = sec_gate(request)
            if refused is not None:
                return refused
        elif path.startswith(("/v8/", "/rss/")):
            fault = yahoo_fault(path)
            if fault is not None:
                return fault
        return await call_next(request)

    @app.get("/files/company_tickers.json")
    async def tickers() -> Response:
        record("/files/company_tickers.json", 200, "sec")
        return Response(json.dumps(company_rows(), separators=(",", ":")).encode(), media_type=JSON)

    @app.get("/api/xbrl/companyfacts/{name}")
    async def companyfacts(name: str) -> Response:
        path = f"/api/xbrl/companyfacts/{name}"
        ticker = _cik_tickers().get(int(m.group(1))) if (m := re.fullmatch(r"CIK(\d{10})\.json", name)) else None
        if ticker == synthetic.TICKER:
            record(path, 200, "sec")
            return Response(json.dumps(synthetic.companyfacts()).encode(), media_type=JSON)
        file = BUNDLED_DIR / "sec" / f"{ticker}.json.gz"
        if ticker is None or not file.exists():
            record(path, 404, "sec")
            return not_found(f"api/xbrl/companyfacts/{name}")
        record(path, 200, "sec")
        return Response(gzip.decompress(file.read_bytes()), media_type=JSON)

    @app.get("/submissions/{name}")
    async def submissions(name: str) -> Response:
        path = f"/submissions/{name}"
        cik = int(m.group(1)) if (m := re.fullmatch(r"CIK(\d{10})\.json", name)) else None
        ticker = _cik_tickers().get(cik) if cik is not None else None
        if ticker is None:
            record(path, 404, "sec")
            return not_found(f"submissions/{name}")
        record(path, 200, "sec")
        if cik == APPLE_CIK:
            body = apple_submissions()
        elif ticker == synthetic.TICKER:
            body = synthetic.submissions()
        else:
            body = {"cik": f"{cik:010d}", "name": ticker, "tickers": [ticker],
                    "filings": {"recent": {"accessionNumber": [], "filingDate": [], "form": [], "primaryDocument": []},
                                "files": []}}
        return Response(json.dumps(body, separators=(",", ":")).encode(), media_type=JSON)

    @app.get("/Archives/edgar/data/{cik}/{folder}/{document}")
    async def archive(cik: int, folder: str, document: str) -> Response:
        path = f"/Archives/edgar/data/{cik}/{folder}/{document}"
        known = {
            (APPLE_CIK, APPLE_FORM4[0].replace("-", ""), APPLE_FORM4[2]): "sec_form4_AAPL_0000320193-22-000061.xml",
            (synthetic.CIK, synthetic.FORM4_ACCESSION.replace("-", ""), synthetic.FORM4_DOCUMENT):
                "sec_form4_SCWO_374Water_2025-04-30.xml",
        }
        name = known.get((cik, folder, document))
        if name is None:
            record(path, 404, "sec")
            return not_found(path.lstrip("/"))
        record(path, 200, "sec")
        return Response(_read(name), media_type="text/xml")

    @app.get("/v8/finance/chart/{symbol}")
    async def chart(symbol: str, period1: int, period2: int, interval: str = "1d") -> Response:
        path = f"/v8/finance/chart/{symbol}"
        if symbol == synthetic.TICKER:
            result = synthetic.chart_result(clock().astimezone(NEW_YORK).date())
        elif (BUNDLED_DIR / "prices" / f"{symbol}.csv.gz").exists():
            result = bundled_chart(symbol)
        else:
            record(path, 404, "yahoo")
            return Response(_read("yahoo_chart_error_not_found.json"), 404, media_type=YAHOO_JSON,
                            headers={"cache-control": "max-age=0, private", "expires": "-1"})
        body = {"chart": {"result": [_window(result, period1, period2)], "error": None}}
        record(path, 200, "yahoo")
        return Response(json.dumps(body, separators=(",", ":")).encode(), media_type=YAHOO_JSON,
                        headers={"cache-control": "public, max-age=10, stale-while-revalidate=20"})

    @app.get("/rss/2.0/headline")
    async def headlines(s: str) -> Response:
        record("/rss/2.0/headline", 200, "yahoo")
        return Response(rss(s.upper(), clock()), media_type="application/rss+xml")

    return app
