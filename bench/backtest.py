"""BT: the backtest's speed targets of issue #19, cold and warm, through the real flow and Prefect API.

The case of the issue: rules model, the 7 bundled tickers, monthly rebalancing,
2019-01-01 to 2025-09-30, offline data. Cold starts from empty caches (with
``--redis``, a refresh: other users' keys stay); warm re-runs the same backtest
after emptying the process's memory tier, as a new ``hedgeflow backtest``
process would find it. ``--tiny`` runs 2 tickers over 3 months: it proves the
machinery and measures nothing.

Cost per analysis = cold wall / (analysts x tickers x rebalance dates).
Task runs are counted from the result: one per rebalance date (the committee),
the analyst task runs a model needed, one price history per symbol, and the
ticker list, plan, book, chart, artifacts and persist tasks.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from typing import Any

from bench.config import BUNDLED, DESCRIPTIONS, PAIR, rss_mb, say, times
from bench.environment import Env

__all__ = ["BacktestCase", "backtest_case", "scenario_backtest"]

COLD_TARGET_S = 60.0
WARM_TARGET_S = 10.0
TASKS_AFTER_COMMITTEE = 6  # tickers, plan, book, chart, artifacts, persist


@dataclass(frozen=True)
class BacktestCase:
    tickers: list[str]
    start: dt.date
    end: dt.date
    frequency: str = "monthly"


def backtest_case(tiny: bool) -> BacktestCase:
    """The issue's case, or a 2-ticker, 3-month one for ``--tiny``."""
    if tiny:
        return BacktestCase(tickers=list(PAIR), start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31))
    return BacktestCase(tickers=list(BUNDLED), start=dt.date(2019, 1, 1), end=dt.date(2025, 9, 30))


def _run(env: Env, case: BacktestCase, refresh: bool) -> tuple[Any, float, float]:
    from flows.backtest import backtest

    wall, cpu = time.perf_counter(), time.process_time()
    result = backtest(tickers=case.tickers, start=case.start, end=case.end, frequency=case.frequency,
                      refresh=refresh, output_dir=os.path.join(env.base, "backtests"))
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _task_runs(result: Any) -> int:
    symbols = len(dict.fromkeys([*result.request.tickers, result.request.benchmark]))
    model_runs = result.cache.lookups - result.cache.hits if result.request.model != "rules" else 0
    return len(result.rebalance_dates) + model_runs + symbols + TASKS_AFTER_COMMITTEE


def scenario_backtest(env: Env, tiny: bool = False) -> dict[str, Any]:
    """Cold then warm runs of the case (``config.repeats`` each); wall and CPU seconds, cost per analysis."""
    from blocks.cache import MEMORY
    from tasks.caching import clear_cache

    case = backtest_case(tiny)
    cold_walls: list[float] = []
    warm_walls: list[float] = []
    cpu: dict[str, list[float]] = {"cold": [], "warm": []}
    result: Any = None
    for i in range(env.config.repeats):
        if not env.config.redis:
            clear_cache()
        MEMORY.clear()
        load = os.getloadavg()[0]
        result, wall, used = _run(env, case, refresh=bool(env.config.redis))
        if result.status != "completed":
            raise RuntimeError(f"the cold backtest ended {result.status}: {sorted(result.errors.items())[:3]}")
        cold_walls.append(wall)
        cpu["cold"].append(used)
        MEMORY.clear()  # a new process starts with an empty memory tier
        warm, warm_wall, warm_used = _run(env, case, refresh=False)
        if warm.cache.hit_rate != 1.0 or warm.trades != result.trades:
            raise RuntimeError(f"the warm re-run missed the cache ({warm.cache}) or traded differently")
        warm_walls.append(warm_wall)
        cpu["warm"].append(warm_used)
        say(f"  BT run {i + 1}/{env.config.repeats}: cold {wall:.2f} s (cpu {used:.2f} s), warm {warm_wall:.2f} s "
            f"(cpu {warm_used:.2f} s), load average {load:.2f}")
    from hedgeflow.analysts.registry import resolve_analysts

    count = len(resolve_analysts(result.request.analysts)) * len(case.tickers) * len(result.rebalance_dates)
    cold = times(cold_walls)
    return {
        "description": DESCRIPTIONS["BT"],
        "runs": len(cold_walls),
        "case": {"tickers": case.tickers, "start": case.start.isoformat(), "end": case.end.isoformat(),
                 "frequency": case.frequency, "model": "rules", "data_provider": "offline"},
        "wall_s": cold,
        "cold_s": cold,
        "warm_s": times(warm_walls),
        "cold_cpu_s": times(cpu["cold"]),
        "warm_cpu_s": times(cpu["warm"]),
        "analyses": count,
        "ms_per_analysis": round(1000 * cold["median"] / count, 3),
        "rebalance_dates": len(result.rebalance_dates),
        "task_runs": _task_runs(result),
        "task_runs_one_per_signal": count + len(case.tickers) * len(result.rebalance_dates) * 8,
        "cache_hit_rate": 1.0,
        "status": result.status,
        "peak_rss_mb": rss_mb(),
        "targets_s": {"cold": COLD_TARGET_S, "warm": WARM_TARGET_S},
    }
