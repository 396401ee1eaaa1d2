"""No look-ahead, by construction: at each rebalance date D nothing after D changes what is decided.

A provider wrapper hides everything after D (bars, filings, news, trades);
the committee's signals at D, and the orders decided at D, must not change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hedgeflow.analysts.registry import load_analyst, resolve_analysts
from hedgeflow.backtest import BacktestRequest, simulate
from hedgeflow.backtest.plan import analysis_window, history_start, plan_backtest
from hedgeflow.data import DataProvider
from hedgeflow.data.offline import OfflineProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.schemas import AgentSignal, Period, Price

TICKERS = ["AAPL", "NVDA", "BRK-B"]
REQUEST = BacktestRequest(tickers=TICKERS, start=dt.date(2022, 11, 1), end=dt.date(2023, 10, 31), frequency="monthly")


class Truncated:
    """The same data, cut at ``cutoff``: a provider that never knew anything after it."""

    def __init__(self, inner: DataProvider, cutoff: dt.date) -> None:
        self.inner, self.cutoff, self.name = inner, cutoff, inner.name

    def _upto(self, day: dt.date) -> dt.date:
        return min(day, self.cutoff)

    def _known(self, rows: list[Any] | None, field: str) -> list[Any] | None:
        return None if rows is None else [r for r in rows if getattr(r, field) <= self.cutoff.isoformat()]

    def tickers(self) -> dict[str, tuple[dt.date, dt.date]]:
        return {t: (a, self._upto(b)) for t, (a, b) in self.inner.tickers().items()}

    def get_prices(self, ticker: str, start: dt.date, end: dt.date) -> list[Price]:
        return self._known(self.inner.get_prices(ticker, start, self._upto(end)), "time") or []

    def get_financial_metrics(self, ticker: str, end: dt.date, period: Period = "ttm", limit: int = 10) -> list[Any]:
        return self._known(self.inner.get_financial_metrics(ticker, self._upto(end), period, limit), "report_period") or []

    def get_line_items(self, ticker: str, end: dt.date, period: Period = "annual", limit: int = 10) -> list[Any]:
        return self._known(self.inner.get_line_items(ticker, self._upto(end), period, limit), "report_period") or []

    def get_insider_trades(self, ticker: str, start: dt.date, end: dt.date) -> list[Any] | None:
        return self._known(self.inner.get_insider_trades(ticker, start, self._upto(end)), "filing_date")

    def get_company_news(self, ticker: str, start: dt.date, end: dt.date) -> list[Any] | None:
        return self._known(self.inner.get_company_news(ticker, start, self._upto(end)), "date")

    def get_market_cap(self, ticker: str, end: dt.date) -> float | None:
        return self.inner.get_market_cap(ticker, self._upto(end))


def committee(provider: DataProvider, day: dt.date) -> list[AgentSignal]:
    """Every analyst's rules signal on every ticker as of ``day``: what the flow's tasks compute."""
    out = []
    for ticker in TICKERS:
        snapshot = build_snapshot(provider, ticker, *analysis_window(day))
        for key in resolve_analysts(None):
            spec = load_analyst(key)
            out.append(spec.derive_signal(spec.analyze(snapshot)))
    return out


def _plan() -> tuple[Any, dict[str, list[Price]]]:
    offline = OfflineProvider()
    bars = {t: offline.get_prices(t, history_start(REQUEST.start), REQUEST.end) for t in TICKERS}
    return plan_backtest(REQUEST, resolve_analysts(None), bars), bars


def test_signals_at_each_date_are_the_same_with_the_future_hidden() -> None:
    offline = OfflineProvider()
    plan, _ = _plan()
    assert len(plan.rebalance) == 12
    for day in plan.rebalance:
        full = committee(offline, day)
        cut = committee(Truncated(offline, day), day)
        assert [s.model_dump(exclude={"elapsed_s"}) for s in full] == [s.model_dump(exclude={"elapsed_s"}) for s in cut], day


def test_the_snapshot_as_of_d_asks_nothing_after_d() -> None:
    day = dt.date(2023, 5, 1)
    for ticker in TICKERS:
        full = build_snapshot(OfflineProvider(), ticker, *analysis_window(day))
        cut = build_snapshot(Truncated(OfflineProvider(), day), ticker, *analysis_window(day))
        assert full.fingerprint == cut.fingerprint
        assert max(p.time for p in full.prices) <= day.isoformat()


def test_orders_decided_at_d_are_the_same_with_later_bars_removed() -> None:
    offline = OfflineProvider()
    plan, bars = _plan()
    signals = {day: committee(offline, day) for day in plan.rebalance}
    bench = offline.get_prices("SPY", REQUEST.start, REQUEST.end)
    full = simulate(plan.sessions, bars, bench, plan.rebalance, signals, cash=100_000, margin_requirement=0.5)
    assert any(o.action != "hold" for orders in full.orders.values() for o in orders)
    for day in plan.rebalance:
        upto = day.isoformat()
        cut_bars = {t: [b for b in series if b.time <= upto] for t, series in bars.items()}
        cut = simulate([s for s in plan.sessions if s <= day], cut_bars, [b for b in bench if b.time <= upto],
                       [d for d in plan.rebalance if d <= day], {d: s for d, s in signals.items() if d <= day},
                       cash=100_000, margin_requirement=0.5)
        assert cut.orders[day] == full.orders[day], day
        assert cut.equity_curve == full.equity_curve[: len(cut.equity_curve)]
