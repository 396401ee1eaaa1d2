"""The stored runs as dashboard samples: two queries over ``hedgeflow.store``'s tables, no Prefect."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hedgeflow.stats.compute import RunSample
from hedgeflow.store import RunRow, SignalRow, as_utc

__all__ = ["load_samples"]


def load_samples(engine: Engine, since: dt.datetime | None = None) -> list[RunSample]:
    """Every run started at or after ``since`` (all when None), oldest first, with its analysts' elapsed times."""
    query = select(RunRow).order_by(RunRow.started_at)
    if since is not None:
        query = query.where(RunRow.started_at >= as_utc(since))
    with Session(engine) as session:
        runs = list(session.scalars(query))
        elapsed: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        ids = [r.id for r in runs]
        for start in range(0, len(ids), 500):  # bounded IN lists
            rows = session.execute(
                select(SignalRow.run_id, SignalRow.analyst, SignalRow.elapsed_s).where(
                    SignalRow.run_id.in_(ids[start : start + 500])
                )
            )
            for run_id, analyst, seconds in rows:
                elapsed[run_id][analyst].append(float(seconds))
    return [
        RunSample(
            run_id=r.id,
            status=r.status,
            started_at=as_utc(r.started_at),
            finished_at=as_utc(r.finished_at),
            model_calls=r.model_calls,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cost_usd=r.cost_usd,
            cache_hit_rate=r.cache_hit_rate,
            analyst_elapsed_s={a: list(v) for a, v in elapsed[r.id].items()},
        )
        for r in runs
    ]
