"""Past runs read back from the store as typed records: the queries ``hedgeflow history`` prints.

Plain SQL over the tables in ``hedgeflow.store``, so it needs no Prefect
server; the printing lives with the command (``deployments/history_view.py``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine, exists, or_, select
from sqlalchemy.orm import Session

from hedgeflow.schemas import AgentSignal, ModelUsage, Order
from hedgeflow.store import OrderRow, RunRow, SignalRow, as_utc

__all__ = ["AmbiguousRunError", "RunRecord", "find_run", "load_history"]


class AmbiguousRunError(LookupError):
    """A run id prefix that matches more than one run; the message lists them."""


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


def load_history(
    engine: Engine, ticker: str | None = None, limit: int = 20, status: str | None = None
) -> list[RunRecord]:
    """The newest ``limit`` runs, optionally only those that signalled or ordered ``ticker``,
    or only those that ended with ``status`` (completed, degraded, partial, failed).

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
    if status:
        query = query.where(RunRow.status == status)
    return _load(engine, query)


def find_run(engine: Engine, run_id: str) -> RunRecord | None:
    """The run whose id is ``run_id`` or starts with it (as git takes a short hash); None when none does.

    Raises AmbiguousRunError when the prefix matches more than one run.
    """
    wanted = run_id.strip().lower()
    if not wanted:
        return None
    query = select(RunRow).where(RunRow.id.startswith(wanted, autoescape=True)).order_by(RunRow.id).limit(5)
    records = _load(engine, query)
    exact = [r for r in records if r.run_id == wanted]
    if exact:
        return exact[0]
    if len(records) > 1:
        raise AmbiguousRunError(f"run id {run_id!r} matches {', '.join(r.run_id for r in records)}; give more of it")
    return records[0] if records else None


def _load(engine: Engine, query: Any) -> list[RunRecord]:
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
