"""Each way the live services fail, at the wire, and the pieces that parse their documents.

The recorded bodies under tests/live_fakes/data are the references: SEC's
403 pages (undeclared automated tool; traffic limit), the S3-style 404, the
v8 chart's error objects, Yahoo's 429 with and without Retry-After, an HTML
page answered with 200.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgeflow.data.live import LiveProvider, LiveSettings, LocalRateLimiter, UserAgentError, last_completed_session
from hedgeflow.data.live.chart import parse_chart
from hedgeflow.data.live.form4 import insider_trades, parse_form4
from hedgeflow.data.live.news import Headline, headlines_in_window
from hedgeflow.data.live.sec import form4_refs
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.errors import DataError, DataUnavailableError, TransientDataError
from tests.fakes import FakeServer
from tests.live_fakes import live_fake, live_fake_server  # noqa: F401 - fixtures

DATA = Path(__file__).parent / "live_fakes" / "data"
WINDOW = (dt.date(2024, 1, 2), dt.date(2024, 3, 28))


def provider(**changes: object) -> LiveProvider:
    return LiveProvider(LiveSettings.from_env().model_copy(update=changes))


# --------------------------------------------------------------------------- SEC's rules


@pytest.mark.parametrize("agent", [None, "", "hedgeflow", "jane@example.com", "Jane Doe"])
def test_a_user_agent_without_a_name_and_an_email_is_one_clear_line(
    agent: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if agent is None:
        monkeypatch.delenv("HEDGEFLOW_SEC_USER_AGENT", raising=False)
    else:
        monkeypatch.setenv("HEDGEFLOW_SEC_USER_AGENT", agent)
    with pytest.raises(UserAgentError) as caught:
        LiveSettings.from_env()
    message = str(caught.value)
    assert "\n" not in message and "HEDGEFLOW_SEC_USER_AGENT" in message and "@" in message


def test_sec_refuses_an_undeclared_tool_and_the_provider_says_how_to_fix_it(live_fake: FakeServer) -> None:
    # The settings check is bypassed on purpose: the fake enforces SEC's rule at the wire too.
    live = provider(sec_user_agent="python-httpx/0.28")
    with pytest.raises(UserAgentError, match="HEDGEFLOW_SEC_USER_AGENT"):
        live.companies()
    assert live_fake.counters()["by_status"] == {"403": 1}


def test_more_than_ten_sec_requests_a_second_hit_the_traffic_limit(live_fake: FakeServer) -> None:
    unlimited = LiveProvider(LiveSettings.from_env(), sec_limiter=lambda: None)
    with pytest.raises(DataError, match="traffic limit") as caught:
        for _ in range(40):
            unlimited.http.get("sec_www", "/files/company_tickers.json", "the ticker list")
    assert not isinstance(caught.value, TransientDataError)  # SEC blocks for 10 minutes: no quick retry
    assert live_fake.counters()["sec_rate_limited"] == 1


def test_the_rate_limiter_keeps_sec_requests_under_the_limit(live_fake: FakeServer) -> None:
    limited = provider()  # the local limiter: 9 requests a second
    for _ in range(15):
        limited.http.get("sec_www", "/files/company_tickers.json", "the ticker list")
    counters = live_fake.counters()
    assert counters["by_status"] == {"200": 15} and counters.get("sec_rate_limited", 0) == 0


def test_the_local_limiter_spaces_calls_by_the_rate() -> None:
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 9))

    limiter = LocalRateLimiter(10.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter()  # the clock stands still: the 2nd waits 0.1 s, the 3rd 0.2 s
    now[0] = 101.0
    limiter()  # long after the last slot: no wait
    assert waits == [0.1, 0.2]


def test_a_company_sec_has_no_facts_for_is_prices_only(live_fake: FakeServer) -> None:
    # SPY is a fund: companyfacts answers the S3-style 404, the provider reports no filings.
    live = provider()
    assert live.get_line_items("SPY", WINDOW[1]) == [] and live.get_market_cap("SPY", WINDOW[1]) is None


# --------------------------------------------------------------------------- the chart endpoint


@pytest.mark.parametrize(("fault", "retry_after"), [("rate_limit", 2.0), ("rate_limit_bare", None)])
def test_a_429_is_transient_with_or_without_retry_after(
    live_fake: FakeServer, fault: str, retry_after: float | None
) -> None:
    live_fake.mode(next=[fault])
    with pytest.raises(TransientDataError, match="429") as caught:
        provider().get_prices("TSLA", *WINDOW)
    assert caught.value.retry_after_s == retry_after


def test_an_html_page_answered_with_200_is_transient(live_fake: FakeServer) -> None:
    live_fake.mode(next=["html"])
    with pytest.raises(TransientDataError, match="HTML page"):
        provider().get_prices("TSLA", *WINDOW)
    assert provider().get_prices("TSLA", *WINDOW) == OfflineProvider().get_prices("TSLA", *WINDOW)  # next try: bars


def test_an_error_object_in_a_200_body_is_an_error(live_fake: FakeServer) -> None:
    live_fake.mode(next=["chart_error"])
    with pytest.raises(DataError, match="Internal Server Error"):
        provider().get_prices("TSLA", *WINDOW)


def test_the_news_feed_answering_html_or_429_is_transient(live_fake: FakeServer) -> None:
    live_fake.mode(next=["html", "rate_limit"])
    live = provider()
    with pytest.raises(TransientDataError, match="HTML page"):
        live.get_company_news("TSLA", *WINDOW)
    with pytest.raises(TransientDataError, match="429"):
        provider().get_company_news("TSLA", *WINDOW)


def test_the_recorded_chart_keeps_raw_and_adjusted_closes_apart() -> None:
    chart = parse_chart(json.loads((DATA / "yahoo_chart_AAPL.sample.json").read_text()), "AAPL")
    assert len(chart.dates) == 49 and chart.dates[0] == dt.date(2020, 8, 31)  # 13:30 UTC is 09:30 New York
    assert chart.closes[0] == 129.0399932861328  # the close as traded (split-adjusted)
    assert chart.adjusted[0].close == 125.82673645019531  # adjclose: dividends too
    # every price of the bar scales by adjclose / close
    assert chart.adjusted[0].open == pytest.approx(127.58000183105469 * 125.82673645019531 / 129.0399932861328)
    assert chart.splits == ((dt.date(2020, 8, 31), 4.0),)
    assert chart.dividends == ((dt.date(2020, 11, 6), 0.205),)


@pytest.mark.parametrize(("name", "text"), [("yahoo_chart_error_not_found.json", "symbol may be delisted"),
                                            ("yahoo_chart_error_bad_request.json", "Data doesn't exist")])
def test_the_recorded_chart_errors_mean_no_data(name: str, text: str) -> None:
    with pytest.raises(DataUnavailableError, match=text):
        parse_chart(json.loads((DATA / name).read_text()), "SI")


# --------------------------------------------------------------------------- Form 4


def test_a_2025_form4_with_true_false_booleans_and_grants_only_gives_no_market_trades() -> None:
    form = parse_form4((DATA / "sec_form4_SCWO_374Water_2025-04-30.xml").read_bytes())
    assert form.is_director is None and form.title == "Chief Technology Officer"  # no isDirector element
    assert [(t.code, t.shares, t.price, t.acquired) for t in form.transactions] == [("A", 757756.0, 0.0, True)]
    assert insider_trades(form, "SCWO", dt.date(2025, 5, 2)) == []


def test_the_recorded_apple_submissions_list_22_form4s_by_filing_date() -> None:
    recent = json.loads((DATA / "sec_submissions_CIK0000320193.sample.json").read_text())["filings"]["recent"]
    refs = form4_refs(recent, dt.date(2025, 10, 1), dt.date(2026, 2, 26))
    assert len(refs) == 22  # the README: 22 of the 40 rows are form "4"
    # the first row's xslF345X05/wk-form4_1772148856.xml: the folder dropped, the raw XML
    assert "wk-form4_1772148856.xml" in {r.document for r in refs} and all("/" not in r.document for r in refs)
    assert refs == sorted(refs, key=lambda r: (r.filing_date, r.accession), reverse=True)


@given(st.dates(dt.date(2025, 9, 1), dt.date(2026, 3, 31)), st.integers(0, 120))
def test_form4_refs_never_leave_the_filing_window(end: dt.date, days: int) -> None:
    recent = json.loads((DATA / "sec_submissions_CIK0000320193.sample.json").read_text())["filings"]["recent"]
    start = end - dt.timedelta(days=days)
    assert all(start <= ref.filing_date <= end for ref in form4_refs(recent, start, end))


# --------------------------------------------------------------------------- headlines and sessions

STAMPS = st.datetimes(dt.datetime(2025, 1, 1), dt.datetime(2025, 12, 31), timezones=st.just(dt.UTC))


@given(st.lists(STAMPS, max_size=30), st.dates(dt.date(2025, 1, 1), dt.date(2025, 12, 31)), st.integers(0, 60))
def test_headlines_never_come_from_after_the_as_of_date(stamps: list[dt.datetime], end: dt.date, days: int) -> None:
    items = [Headline(s, f"headline {i}", None, None) for i, s in enumerate(stamps)]
    today = dt.date(2026, 1, 15)
    news = headlines_in_window(items, "T", end - dt.timedelta(days=days), end, today)
    if news is None:  # missing only when the feed holds nothing on or before the as-of date
        assert all(h.day > end for h in items)
    else:
        assert all(dt.datetime.fromisoformat(n.date).astimezone(dt.UTC) <= dt.datetime.combine(
            end + dt.timedelta(days=1), dt.time(5), dt.UTC) for n in news)
        assert len(news) == sum(end - dt.timedelta(days=days) <= h.day <= end for h in items)


@pytest.mark.parametrize(("instant", "session"), [
    ("2026-11-30T03:00:00+00:00", "2026-11-27"),  # Sunday night in New York: Friday (the early close)
    ("2026-11-27T21:00:00+00:00", "2026-11-27"),  # Friday 16:00 EST (an early-close day, complete by then)
    ("2026-11-27T20:00:00+00:00", "2026-11-25"),  # Friday 15:00 EST: Thursday is Thanksgiving
    ("2025-07-07T20:00:00+00:00", "2025-07-07"),  # Monday 16:00 EDT: today's session is complete
    ("2025-07-07T19:59:00+00:00", "2025-07-03"),  # Monday 15:59 EDT: Friday 4 July was a holiday
    ("2025-01-10T12:00:00+00:00", "2025-01-08"),  # 9 January 2025: markets closed for President Carter
])
def test_the_last_completed_session(instant: str, session: str) -> None:
    assert last_completed_session(dt.datetime.fromisoformat(instant)) == dt.date.fromisoformat(session)
