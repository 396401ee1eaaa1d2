"""The committee as of one rebalance date: what one backtest task computes for all its tickers.

Pure: the caller supplies the cache (``lookup`` and ``store``, backed by the
very records the analyst task of ``analyze`` reads and writes) and the key
function. Each (ticker, D) Snapshot is built in-process, exactly as
``analyze --end D`` builds it (``hedgeflow.data.snapshot.build_snapshot`` over
the window of ``plan.analysis_window``). With the rules model a miss is
computed here, as the analyst task computes it; with another model it is
left ``pending`` for the ordinary analyst task (retries, breaker, fallback).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hedgeflow.analysts.registry import load_analyst
from hedgeflow.backtest.plan import analysis_window
from hedgeflow.data import DataProvider
from hedgeflow.data.snapshot import build_snapshot
from hedgeflow.errors import TransientDataError
from hedgeflow.llm import RulesClient, model_signal
from hedgeflow.schemas import AgentSignal, Snapshot

__all__ = ["DateCommittee", "committee_as_of", "rules_signal"]


@dataclass
class DateCommittee:
    """One date's signals; ``pending``: (snapshot, analysts) a model still has to answer; cache counts."""

    day: dt.date
    signals: list[AgentSignal] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    pending: list[tuple[Snapshot, list[str]]] = field(default_factory=list)
    lookups: int = 0
    hits: int = 0
    memory_hits: int = 0  # of ``hits``, those served from the process's memory tier
    computed: int = 0


def rules_signal(analyst: str, snapshot: Snapshot) -> AgentSignal:
    """The analyst task's answer with the rules model (tasks/analyst.py), computed in-process."""
    began = time.perf_counter()
    spec = load_analyst(analyst)
    analysis = spec.analyze(snapshot)
    signal = model_signal(RulesClient(), spec.persona, analysis, spec.derive_signal(analysis))
    return signal.model_copy(update={"elapsed_s": time.perf_counter() - began})


def committee_as_of(
    provider: DataProvider,
    tickers: list[str],
    day: dt.date,
    analysts: list[str],
    model: str,
    key: Callable[[str, Snapshot], str],
    lookup: Callable[[str], AgentSignal | None],
    store: Callable[[str, AgentSignal], None],
) -> DateCommittee:
    """Every analyst on every ticker as of ``day``: cached records first, then the rules model or ``pending``.

    A ticker whose data fails is one error (a transient failure raises, so the
    task is retried); an analyst that fails is one error for its pair.
    """
    out = DateCommittee(day=day)
    for ticker in tickers:
        try:
            snapshot = build_snapshot(provider, ticker, *analysis_window(day))
        except TransientDataError:
            raise
        except Exception as exc:  # noqa: BLE001 - one ticker's data failing fails that ticker alone
            out.errors[f"{ticker}@{day}"] = f"{type(exc).__name__}: {exc}"
            continue
        missing: list[str] = []
        for analyst in analysts:
            record = key(analyst, snapshot)
            out.lookups += 1
            if (found := lookup(record)) is not None:
                out.hits += 1
                out.signals.append(found)
            elif model != "rules":
                missing.append(analyst)
            else:
                try:
                    signal = rules_signal(analyst, snapshot)
                except Exception as exc:  # noqa: BLE001 - as a failed analyst task run: that pair only
                    out.errors[f"{ticker}@{day}/{analyst}"] = f"{type(exc).__name__}: {exc}"
                    continue
                store(record, signal)
                out.computed += 1
                out.signals.append(signal)
        if missing:
            out.pending.append((snapshot, missing))
    return out
