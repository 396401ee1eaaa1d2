"""``hedgeflow history``: past runs as a table, one run in full (``--run``), or JSON for scripts.

The queries are the domain's (:mod:`hedgeflow.history`); this module only
prints. Plain text, so it reads the same on a terminal, in a pipe or a file.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence

from hedgeflow.history import RunRecord
from hedgeflow.schemas import AgentSignal

__all__ = ["REASON_WIDTH", "history_command", "render_history", "render_run", "replay_command", "run_command"]

REASON_WIDTH = 70  # characters of an order's reasoning shown in the text table


def _clip(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _signal_summary(signals: list[AgentSignal]) -> list[str]:
    """Per ticker: how many analysts said what, and how many fell back to rules."""
    by_ticker: dict[str, list[AgentSignal]] = defaultdict(list)
    for signal in signals:
        by_ticker[signal.ticker].append(signal)
    lines = []
    for ticker, group in sorted(by_ticker.items()):
        counts = Counter(s.signal for s in group)
        degraded = sum(1 for s in group if s.degraded)
        mean_confidence = sum(s.confidence for s in group) / len(group)
        line = (
            f"{ticker:<6} {counts['bullish']} bullish, {counts['bearish']} bearish, {counts['neutral']} neutral"
            f" (mean confidence {mean_confidence:.0f}"
        )
        lines.append(line + (f", {degraded} degraded)" if degraded else ")"))
    return lines


def _columns(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    return [line(header), line(tuple("-" * w for w in widths)), *(line(row) for row in rows)]


def render_history(records: list[RunRecord]) -> str:
    """A plain-text table, newest run first; under each run its orders, signals summary and errors."""
    if not records:
        return "No runs recorded."
    header = ("RUN ID", "STARTED (UTC)", "STATUS", "MODEL", "TICKERS", "COST USD")
    rows = [
        (r.run_id, r.started_at.strftime("%Y-%m-%d %H:%M"), r.status, r.model, ",".join(r.tickers), f"{r.cost_usd:.4f}")
        for r in records
    ]
    table = _columns(header, rows)
    out = table[:2]
    for record, row_line in zip(records, table[2:]):
        out.append(row_line)
        for order in record.orders:
            out.append(
                f"    order    {order.ticker:<6} {order.action:<5} {order.quantity:>7}"
                f"  confidence {order.confidence:>5.1f}  {_clip(order.reasoning, REASON_WIDTH)}"
            )
        if not record.orders:
            out.append("    order    none")
        for summary in _signal_summary(record.signals):
            out.append(f"    signals  {summary}")
        for key, why in sorted(record.errors.items()):
            out.append(f"    error    {key}: {_clip(why, REASON_WIDTH)}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def render_run(record: RunRecord) -> str:
    """One run in full: what was asked, what it spent, every signal with its reasoning, every order."""
    r = record
    out = [
        f"run      {r.run_id}",
        f"status   {r.status}{f' ({r.degraded_count} degraded signals)' if r.degraded_count else ''}",
        f"started  {r.started_at:%Y-%m-%d %H:%M:%S} UTC, finished {r.finished_at:%H:%M:%S} "
        f"({(r.finished_at - r.started_at).total_seconds():.2f} s)",
        f"window   {r.start} to {r.end}",
        f"model    {r.model}",
        f"tickers  {', '.join(r.tickers)}",
        f"usage    {r.model_calls} model calls, tokens {r.input_tokens} in / {r.output_tokens} out "
        f"({r.cached_tokens} cached), cost ${r.cost_usd:.4f}, cache hit rate {r.cache_hit_rate:.0%}",
        "",
        "Orders",
    ]
    out += _columns(
        ("TICKER", "ACTION", "QUANTITY", "CONFIDENCE", "REASONING"),
        [(o.ticker, o.action, str(o.quantity), f"{o.confidence:.1f}", o.reasoning) for o in r.orders],
    ) if r.orders else ["  none"]
    out += ["", "Signals"]
    out += _columns(
        ("TICKER", "ANALYST", "SIGNAL", "CONFIDENCE", "SOURCE", "DEGRADED"),
        [(s.ticker, s.analyst, s.signal, f"{s.confidence:.1f}", s.source, s.degraded_reason or ("yes" if s.degraded else ""))
         for s in r.signals],
    ) if r.signals else ["  none"]
    if any(s.reasoning for s in r.signals):
        out += ["", "Reasoning"]
        out += [f"  {s.ticker} {s.analyst}: {' '.join(s.reasoning.split())}" for s in r.signals]
    if r.errors:
        out += ["", "Errors"] + [f"  {key}: {why}" for key, why in sorted(r.errors.items())]
    return "\n".join(out) + "\n"


def history_command(ticker: str | None, limit: int, as_json: bool, status: str | None = None) -> str:
    """What ``hedgeflow history`` prints: the table, or JSON (a list of runs with signals and orders)."""
    from hedgeflow.history import load_history
    from hedgeflow.store import database_url, get_engine, safe_url

    url = database_url()
    records = load_history(get_engine(url), ticker=ticker, limit=limit, status=status)
    if as_json:
        return json.dumps([r.model_dump(mode="json") for r in records], indent=2)
    if not records:
        scope = (f" for {ticker.strip().upper()}" if ticker else "") + (f" with status {status}" if status else "")
        return f"No runs recorded{scope} in {safe_url(url)}.\n"
    return render_history(records)


def run_command(run_id: str, as_json: bool) -> str | None:
    """One run in full (text or JSON); None when no run has that id (or id prefix)."""
    from hedgeflow.history import find_run
    from hedgeflow.store import database_url, get_engine

    record = find_run(get_engine(database_url()), run_id)
    if record is None:
        return None
    return record.model_dump_json(indent=2) if as_json else render_run(record)


def replay_command() -> tuple[str, bool]:
    """Write the runs kept while the database was away: (one line saying what happened, whether all went)."""
    from sqlalchemy.exc import SQLAlchemyError

    from hedgeflow import unwritten
    from hedgeflow.store import database_url, get_engine, safe_url

    url = database_url()
    waiting = len(unwritten.kept())
    try:
        written = unwritten.replay(get_engine(url))
    except SQLAlchemyError as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        left = len(unwritten.kept())
        return (f"hedgeflow: error: {left} of {waiting} kept runs not written to {safe_url(url)} "
                f"({cause[0] if cause else type(exc).__name__}); they stay in {unwritten.unwritten_dir()}"), False
    return f"hedgeflow: replayed {len(written)} kept run(s) into {safe_url(url)}", True
