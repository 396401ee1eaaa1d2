"""What ``hedgeflow analyze`` shows a person: rich tables and a live view on a terminal.

Off a terminal the plain text of :func:`hedgeflow.report.render_text` is
printed instead (no colour, no control characters), and ``--json`` prints the
RunResult alone. rich is imported only here, and only when a terminal is there.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console

    from hedgeflow.schemas import RunResult

__all__ = ["collapse_repeats", "is_terminal", "live_progress", "print_result"]

SIGNAL_STYLE = {"bullish": "bold green", "bearish": "bold red", "neutral": "yellow"}
ACTION_STYLE = {"buy": "green", "cover": "green", "sell": "red", "short": "red", "hold": "dim"}
STATUS_STYLE = {"completed": "green", "degraded": "yellow", "partial": "yellow", "failed": "bold red"}


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _console(stream: TextIO) -> Console:
    from rich.console import Console

    return Console(file=stream, highlight=False)


def _money(value: object) -> str:
    return f"{value:,.2f}" if isinstance(value, (int, float)) else "-"


def _signals_table(result: RunResult, ticker: str, show_reasoning: bool) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{ticker}  as of {result.end}", title_justify="left", title_style="bold")
    table.add_column("Analyst")
    table.add_column("Signal")
    table.add_column("Confidence", justify="right")
    table.add_column("Source")
    table.add_column("Degraded")
    if show_reasoning:
        table.add_column("Reasoning", ratio=1)
    for s in (s for s in result.signals if s.ticker == ticker):
        cells = [
            s.analyst,
            f"[{SIGNAL_STYLE.get(s.signal, '')}]{s.signal}[/]",
            f"{s.confidence:.1f}",
            s.source,
            f"[yellow]{escape(s.degraded_reason or 'yes')}[/]" if s.degraded else "",
        ]
        table.add_row(*cells, *([escape(s.reasoning)] if show_reasoning else []))
    return table


def _decisions_table(result: RunResult) -> Any:
    from rich.table import Table

    from hedgeflow.report import decision_rows

    table = Table(title="Decisions", title_justify="left", title_style="bold")
    for name in ("Ticker", "Action", "Quantity", "Price", "Notional", "Cash after", "Confidence"):
        table.add_column(name, justify="left" if name in ("Ticker", "Action") else "right")
    for row in decision_rows(result):
        action = str(row["action"])
        table.add_row(
            str(row["ticker"]), f"[{ACTION_STYLE.get(action, '')}]{action}[/]", str(row["quantity"]),
            _money(row["price"]), _money(row["notional"]), _money(row["cash_after"]), f"{row['confidence']:.1f}",
        )  # fmt: skip
    return table


def _totals(result: RunResult) -> Any:
    from rich.table import Table

    u, c = result.usage, result.cache
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("Status", f"[{STATUS_STYLE.get(result.status, '')}]{result.status}[/]"
                 + (f", {result.degraded_count} degraded signals" if result.degraded_count else ""))
    grid.add_row("Tokens", f"{u.input_tokens:,} in, {u.output_tokens:,} out, {u.cached_tokens:,} cached; "
                 f"{u.calls} model calls")
    grid.add_row("Cost", f"${u.cost_usd:.4f}")
    grid.add_row("Cache hits", f"{c.hits}/{c.lookups} ({c.hit_rate:.0%}): memory {c.memory_hits}, "
                 f"storage {c.storage_hits}")
    grid.add_row("Time", f"{(result.finished_at - result.started_at).total_seconds():.2f} s")
    return grid


def print_result(result: RunResult, *, show_reasoning: bool, stream: TextIO | None = None) -> None:
    """The run for a person: colour tables on a terminal, plain text otherwise."""
    out = stream or sys.stdout
    if not is_terminal(out):
        from hedgeflow.report import render_text

        print(render_text(result, show_reasoning=show_reasoning), file=out)
        return
    from rich.markup import escape

    from hedgeflow.report import problem_lines

    console = _console(out)
    for ticker in result.request.tickers:
        if ticker not in result.errors:
            console.print(_signals_table(result, ticker, show_reasoning))
    for key, why in sorted(result.errors.items()):  # a ticker, or ticker/analyst
        console.print(f"[bold red]{escape(key)}: failed[/] - {escape(why)}")
    console.print(_decisions_table(result))
    for line in problem_lines(result):
        console.print(f"[yellow]{escape(line)}[/]")
    console.print(_totals(result))


@contextmanager
def live_progress(tickers: list[str], analysts: int, stream: TextIO | None = None) -> Iterator[Any]:
    """A live bar per ticker while the analysts finish, on a terminal; yields the rich Progress (None elsewhere)."""
    err = stream or sys.stderr
    if not is_terminal(err):
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from tasks.progress import add_listener, remove_listener

    view = Progress(
        TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_console(err), transient=True,
    )  # fmt: skip
    bars = {ticker: view.add_task(ticker, total=analysts) for ticker in tickers}

    def step(done: int, total: int, ticker: str | None) -> None:
        if ticker in bars:
            view.advance(bars[ticker])

    add_listener(step)
    view.start()
    try:
        yield view
    finally:
        remove_listener(step)
        view.stop()


class _Repeats(logging.Filter):
    """Lets the first of each warning through; counts the rest that say the same (figures aside)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or record.exc_info:
            return True
        text = record.getMessage()
        key = re.sub(r"\d+(\.\d+)?", "#", text)
        with self._lock:
            self.seen[key] += 1
            self.first.setdefault(key, text)
            return self.seen[key] == 1


@contextmanager
def collapse_repeats(stream: TextIO | None = None) -> Iterator[None]:
    """While a run goes: repeated identical warnings on the console show once; then one summary line each."""
    from prefect.logging.handlers import PrefectConsoleHandler

    repeats = _Repeats()
    handlers = {h for name in ("", "prefect") for h in logging.getLogger(name).handlers
                if isinstance(h, PrefectConsoleHandler)}
    for handler in handlers:
        handler.addFilter(repeats)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(repeats)
        for key, count in repeats.seen.items():
            if count > 1:
                text = repeats.first[key]
                print(f"hedgeflow: {count - 1} more warning(s) like: {text[:160]}", file=stream or sys.stderr)
