"""What a person reads: the decisions with price, notional and cash after (hand-computed), colour
tables on a terminal, plain text elsewhere, and the live per-ticker progress."""

from __future__ import annotations

import asyncio
import io

import pytest

from deployments.cli_render import live_progress, print_result
from hedgeflow.report import decision_rows, render_text, totals_line
from hedgeflow.schemas import Order, PositionLimit, RunResult
from tests.test_store import make_result


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _limit(ticker: str, price: float) -> PositionLimit:
    return PositionLimit(ticker=ticker, price=price, volatility_annual=0.3, avg_correlation=0.5,
                         limit_fraction=0.2, limit_value=20_000.0)


def _result() -> RunResult:
    """Cash 100,000 and margin requirement 0.5 (the Portfolio defaults); AAPL at 200, NVDA at 100."""
    orders = [
        Order(ticker="AAPL", action="buy", quantity=10, confidence=60.0, reasoning="r"),
        Order(ticker="NVDA", action="short", quantity=20, confidence=40.0, reasoning="r"),
        Order(ticker="TSLA", action="hold", quantity=0, confidence=5.0, reasoning="no price"),
    ]
    result = make_result(orders=orders)
    return result.model_copy(update={"limits": [_limit("AAPL", 200.0), _limit("NVDA", 100.0)]})


def test_cash_runs_through_the_orders() -> None:
    rows = decision_rows(_result())
    # buy 10 x 200 = 2,000 paid: 100,000 - 2,000 = 98,000.
    assert rows[0] | {} == {"ticker": "AAPL", "action": "buy", "quantity": 10, "price": 200.0, "notional": 2000.0,
                            "cash_after": 98_000.0, "confidence": 60.0, "reasoning": "r"}
    # short 20 x 100 = 2,000 of proceeds, less the 50 % margin posted (1,000): 98,000 + 1,000 = 99,000.
    assert (rows[1]["notional"], rows[1]["cash_after"]) == (2000.0, 99_000.0)
    # a hold without a price (no risk limit) changes nothing.
    assert (rows[2]["price"], rows[2]["notional"], rows[2]["cash_after"]) == (None, None, 99_000.0)


def test_plain_text_off_a_terminal() -> None:
    stream = io.StringIO()
    print_result(_result(), show_reasoning=False, stream=stream)
    text = stream.getvalue()
    assert text == render_text(_result()) + "\n"
    assert "\x1b[" not in text
    assert "  AAPL    buy           10     200.00     2,000.00     98,000.00   60.0" in text
    # make_result: 1,800 in / 240 out / 1,200 cached tokens, $0.0084, 4 of 10 lookups hit, 42 s.
    assert totals_line(_result()) == (
        "tokens 1800 in / 240 out (1200 cached), cost $0.0084, cache hits 4/10 (40%), 42.00 s"
    )


def test_colour_tables_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "140")
    monkeypatch.delenv("NO_COLOR", raising=False)
    stream = Terminal()
    print_result(_result(), show_reasoning=True, stream=stream)
    text = stream.getvalue()
    assert "\x1b[" in text  # colour
    for cell in ("AAPL  as of 2025-05-30", "Analyst", "Confidence", "Degraded", "breaker open", "Reasoning",
                 "Decisions", "Cash after", "98,000.00", "99,000.00", "Tokens", "1,800 in", "Cost", "$0.0084",
                 "Cache hits", "4/10 (40%)", "Time", "42.00 s", "TSLA: failed"):
        assert cell in text, cell


def test_live_progress_advances_one_bar_per_ticker(monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks.progress import Progress

    monkeypatch.setenv("TERM", "xterm-256color")
    progress = Progress(total=4)
    with live_progress(["AAPL", "NVDA"], analysts=2, stream=Terminal()) as view:
        assert view is not None
        for ticker in ("AAPL", "NVDA", "AAPL"):
            asyncio.run(progress.step(ticker))
        done = {task.description: task.completed for task in view.tasks}
    assert done == {"AAPL": 2, "NVDA": 1}
    asyncio.run(progress.step("AAPL"))  # after the view closed: the listener is gone, nothing breaks


def test_no_progress_view_off_a_terminal() -> None:
    with live_progress(["AAPL"], analysts=19, stream=io.StringIO()) as view:
        assert view is None
