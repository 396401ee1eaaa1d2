"""Past runs read back from the store: typed records, a plain-text table, and JSON for scripts.

``hedgeflow history`` prints what ``history_command`` returns; the reading is
plain SQL over the tables in ``hedgeflow.store``, so it needs no Prefect server.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.orm import Session

from hedgeflow.schemas import AgentSignal, ModelUsage, Order
from hedgeflow.store import OrderRow, RunRow, SignalRow, as_utc, database_url, get_engine, safe_url

__all__ = ["RunRecord", "history_command", "load_history", "render_history"]

REASON_WIDTH = 70  # characters of an order's reasoning shown in the text table


class RunRecord(BaseModel):
    """One stored run with its signals and orders, as the history shows it."""

    run_id: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime
    start: dt.date = Field(description="First date of the analysed window.")
    end: dt.date = Field(description="As-of date of the analysis.")
    model: str
    tickers: list[str]
    request: dict[str, Any] = Field(description="The RunRequest as JSON, kept loose so old runs still load.")
    model_calls: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float
    cache_hit_rate: float
    degraded_count: int
    errors: dict[str, str]
    signals: list[AgentSignal]
    orders: list[Order]


def _signal(row: SignalRow) -> AgentSignal:
    return AgentSignal(
        analyst=row.analyst,
        ticker=row.ticker,
        as_of=row.as_of,
        signal=row.signal,  # type: ignore[arg-type]  # the table's CHECK keeps it a Signal
        confidence=row.confidence,
        reasoning=row.reasoning,
        source=row.source,  # type: ignore[arg-type]
        model=row.model,
        degraded=row.degraded,
        degraded_reason=row.degraded_reason,
        usage=ModelUsage(
            calls=row.model_calls,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cached_tokens=row.cached_tokens,
            cost_usd=row.cost_usd,
            latency_s=row.latency_s,
        ),
        elapsed_s=row.elapsed_s,
    )


def _order(row: OrderRow) -> Order:
    return Order(
        ticker=row.ticker,
        action=row.action,  # type: ignore[arg-type]  # the table's CHECK keeps it an Action
        quantity=row.quantity,
        confidence=row.confidence,
        reasoning=row.reasoning,
    )


def _record(run: RunRow, signals: list[AgentSignal], orders: list[Order]) -> RunRecord:
    tickers = run.request.get("tickers") or sorted({s.ticker for s in signals} | {o.ticker for o in orders})
    return RunRecord(
        run_id=run.id,
        status=run.status,
        started_at=as_utc(run.started_at),
        finished_at=as_utc(run.finished_at),
        start=run.window_start,
        end=run.window_end,
        model=run.model,
        tickers=list(tickers),
        request=run.request,
        model_calls=run.model_calls,
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        cached_tokens=run.cached_tokens,
        cost_usd=run.cost_usd,
        cache_hit_rate=run.cache_hit_rate,
        degraded_count=run.degraded_count,
        errors={str(k): str(v) for k, v in run.errors.items()},
        signals=signals,
        orders=orders,
    )


def load_history(engine: Engine, ticker: str | None = None, limit: int = 20) -> list[RunRecord]:
    """The newest ``limit`` runs, optionally only those that signalled or ordered ``ticker``.

    Three queries (runs, then their signals and orders), read in one
    REPEATABLE READ transaction on PostgreSQL so a run replaced meanwhile is
    seen whole, old or new.
    """
    if limit <= 0:
        return []
    query = select(RunRow).order_by(RunRow.started_at.desc(), RunRow.id.desc()).limit(limit)
    if ticker:
        wanted = ticker.strip().upper()
        query = query.where(
            or_(
                exists().where(SignalRow.run_id == RunRow.id, SignalRow.ticker == wanted),
                exists().where(OrderRow.run_id == RunRow.id, OrderRow.ticker == wanted),
            )
        )
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with Session(engine) as session, session.begin():
        runs = list(session.scalars(query))
        ids = [run.id for run in runs]
        signals: dict[str, list[AgentSignal]] = defaultdict(list)
        orders: dict[str, list[Order]] = defaultdict(list)
        if ids:
            for signal_row in session.scalars(
                select(SignalRow).where(SignalRow.run_id.in_(ids)).order_by(SignalRow.ticker, SignalRow.analyst)
            ):
                signals[signal_row.run_id].append(_signal(signal_row))
            for order_row in session.scalars(
                select(OrderRow).where(OrderRow.run_id.in_(ids)).order_by(OrderRow.ticker, OrderRow.id)
            ):
                orders[order_row.run_id].append(_order(order_row))
        return [_record(run, signals[run.id], orders[run.id]) for run in runs]


# --------------------------------------------------------------------------- rendering


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


def render_history(records: list[RunRecord]) -> str:
    """A plain-text table, newest run first; under each run its orders, signals summary and errors."""
    if not records:
        return "No runs recorded."
    header = ("RUN ID", "STARTED (UTC)", "STATUS", "MODEL", "TICKERS", "COST USD")
    rows = [
        (
            r.run_id,
            r.started_at.strftime("%Y-%m-%d %H:%M"),
            r.status,
            r.model,
            ",".join(r.tickers),
            f"{r.cost_usd:.4f}",
        )
        for r in records
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip()

    out = [line(header), line(tuple("-" * w for w in widths))]
    for record, row in zip(records, rows):
        out.append(line(row))
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


def history_command(ticker: str | None, limit: int, as_json: bool) -> str:
    """What ``hedgeflow history`` prints: the table, or JSON (a list of runs with signals and orders)."""
    url = database_url()
    records = load_history(get_engine(url), ticker=ticker, limit=limit)
    if as_json:
        return json.dumps([r.model_dump(mode="json") for r in records], indent=2)
    if not records:
        scope = f" for {ticker.strip().upper()}" if ticker else ""
        return f"No runs recorded{scope} in {safe_url(url)}.\n"
    return render_history(records)
