"""The scenarios: S0 (sequential, no Prefect), the flow scenarios S1..S7, and CLI (whole processes)."""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.config import BUNDLED, DESCRIPTIONS, PAIR, QUICK_ANALYSTS, rss_mb, say, times
from bench.environment import Env, fresh_state
from bench.profile import profile_run

__all__ = ["flow_run", "scenario_cli", "scenario_flow", "scenario_s0"]


def _flow_call(env: Env, tickers: list[str], refresh: bool = False) -> Any:
    from flows.hedge_fund import hedge_fund

    return hedge_fund(tickers=tickers, end=env.end, model=env.model_spec, data_provider="financialdatasets",
                      refresh=refresh, persist=True)


def _task_runs(result: Any) -> int:
    """Task runs of one flow run: the cacheable ones (a snapshot per ticker, the analysts), then the ticker
    list, risk, portfolio, result and persist."""
    return int(result.cache.lookups) + 5


def _signal_counts(results: list[Any], analysts: int = 19) -> dict[str, int]:
    model = degraded = failed = 0
    for result in results:
        expected = analysts * len(result.request.tickers)
        model += sum(1 for s in result.signals if s.source == "model" and not s.degraded)
        degraded += sum(1 for s in result.signals if s.degraded)
        failed += expected - len(result.signals)
    return {"model": model, "degraded": degraded, "failed": failed}


def flow_run(env: Env, tickers_sets: list[list[str]], cold: bool) -> dict[str, Any]:
    """One measured run: ``len(tickers_sets)`` flows at once (usually one)."""
    import asyncio

    fresh_state(env, cold)
    model_before = env.model.counters()
    data_before = env.data.counters()

    async def together() -> list[Any]:
        # on a Redis others may share, cold means recompute and rewrite (refresh), not delete every key
        refresh = cold and bool(env.config.redis)
        return list(await asyncio.gather(*(_flow_call(env, t, refresh) for t in tickers_sets)))

    started = time.perf_counter()
    results = asyncio.run(together())
    wall = time.perf_counter() - started
    model_after, data_after = env.model.counters(), env.data.counters()
    hits = sum(r.cache.hits for r in results)
    lookups = sum(r.cache.lookups for r in results)
    return {
        "wall_s": wall,
        "flow_body_s": max((r.finished_at - r.started_at).total_seconds() for r in results),
        "signals": _signal_counts(results),
        "statuses": sorted({r.status for r in results}),
        "errors": sum(len(r.errors) for r in results),
        "error_samples": sorted({f"{k}: {v}"[:240] for r in results for k, v in r.errors.items()})[:5],
        "degraded_reasons": sorted({(s.degraded_reason or "")[:160] for r in results for s in r.signals if s.degraded})[:5],
        "model_calls": model_after["calls"] - model_before["calls"],
        "model_calls_by_status": _delta(model_after["by_status"], model_before["by_status"]),
        "model_max_in_flight": model_after["max_in_flight"],
        "data_calls": data_after["calls"] - data_before["calls"],
        "input_tokens": sum(r.usage.input_tokens for r in results),
        "output_tokens": sum(r.usage.output_tokens for r in results),
        "cache_hits": hits,
        "cache_lookups": lookups,
        "cache_hit_rate": round(hits / lookups, 3) if lookups else 0.0,
        "memory_hits": sum(r.cache.memory_hits for r in results),
        "task_runs": sum(_task_runs(r) for r in results),
        "orders": sum(len(r.orders) for r in results),
    }


def _delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    out = {k: v - before.get(k, 0) for k, v in after.items()}
    return {k: v for k, v in out.items() if v}


def _summarise(name: str, runs: list[dict[str, Any]], limit: float, **extra: Any) -> dict[str, Any]:
    """Median, min and max wall time; the counts of the median run."""
    walls = [r["wall_s"] for r in runs]
    median_run = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    out: dict[str, Any] = {
        "description": DESCRIPTIONS[name],
        "runs": len(runs),
        "wall_s": times(walls),
        "flow_body_s": times([r["flow_body_s"] for r in runs]) if "flow_body_s" in runs[0] else None,
        "limit_s": round(limit, 3),
        "ratio_to_limit": round(statistics.median(walls) / limit, 2) if limit > 0 else None,
        **{k: v for k, v in median_run.items() if k not in ("wall_s", "flow_body_s")},
        "peak_rss_mb": rss_mb(),
    }
    out.update(extra)
    return out


def _repeat(env: Env, name: str, count: int, tickers_sets: list[list[str]], cold: bool,
            before: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    runs = []
    for i in range(count):
        if before is not None:
            before()
        run = flow_run(env, tickers_sets, cold)
        say(f"  {name} run {i + 1}/{count}: {run['wall_s']:.2f} s, signals {run['signals']}, "
             f"model calls {run['model_calls']}, hit rate {run['cache_hit_rate']:.2f}")
        runs.append(run)
    return runs


# --------------------------------------------------------------------------- scenarios


def scenario_s0(env: Env) -> dict[str, Any]:
    """The "before": no Prefect, no cache, every call one after another."""
    from hedgeflow.analysts.registry import load_analyst, resolve_analysts
    from hedgeflow.data.financialdatasets import FinancialDatasetsProvider
    from hedgeflow.data.snapshot import build_snapshot
    from hedgeflow.llm import make_client, model_orders, model_signal, parse_model
    from hedgeflow.portfolio import allowed_actions, rules_orders
    from hedgeflow.request import validate_request
    from hedgeflow.risk import position_limits
    from hedgeflow.schemas import Portfolio, RunRequest

    config = env.config
    env.set_latency(config.model_latency, config.data_latency)
    keys = resolve_analysts(None)
    called = keys[:QUICK_ANALYSTS] if config.quick else keys
    runs = []
    for _ in range(config.s0_repeats):
        before = env.model.counters()["calls"]
        provider = FinancialDatasetsProvider()
        client = make_client(parse_model(env.model_spec))
        portfolio = Portfolio()
        started = time.perf_counter()
        request = RunRequest(tickers=PAIR, end=env.end, model=env.model_spec, portfolio=portfolio)
        start, end = validate_request(request, provider.tickers())
        snapshots = [build_snapshot(provider, t, start, end) for t in PAIR]
        fetched = time.perf_counter()
        signals = []
        tokens_in = tokens_out = 0
        for snap in snapshots:
            for key in called:
                spec = load_analyst(key)
                analysis = spec.analyze(snap)
                signal = model_signal(client, spec.persona, analysis, spec.derive_signal(analysis))
                tokens_in += signal.usage.input_tokens
                tokens_out += signal.usage.output_tokens
                signals.append(signal)
        analysed = time.perf_counter()
        limits = position_limits({s.ticker: list(s.prices) for s in snapshots}, portfolio)
        allowed = allowed_actions(limits, portfolio)
        prices = {limit.ticker: limit.price for limit in limits}
        orders, usage = model_orders(client, signals, allowed, prices,  # type: ignore[arg-type]  # Action keys
                                     rules_orders(signals, allowed))
        done = time.perf_counter()
        provider.close()
        per_call = (analysed - fetched) / len(signals)
        full_calls = len(keys) * len(PAIR)
        measured = done - started
        wall = (fetched - started) + per_call * full_calls + (done - analysed) if config.quick else measured
        runs.append({
            "wall_s": wall, "measured_s": measured, "fetch_s": fetched - started, "per_analyst_call_s": per_call,
            "portfolio_s": done - analysed, "model_calls": env.model.counters()["calls"] - before,
            "signals": {"model": sum(1 for s in signals if s.source == "model"), "degraded": 0, "failed": 0},
            "input_tokens": tokens_in + usage.input_tokens, "output_tokens": tokens_out + usage.output_tokens,
            "orders": len(orders), "cache_hit_rate": 0.0, "task_runs": 0,
        })
        say(f"  S0: {wall:.1f} s{' (extrapolated)' if config.quick else ''}, fetch {fetched - started:.2f} s, "
             f"{per_call:.2f} s a model call")
    extra: dict[str, Any] = {}
    if config.quick:
        extra["extrapolated"] = (f"--quick: {QUICK_ANALYSTS} of {len(keys)} analysts per ticker called; "
                                 f"wall time extrapolated to {len(keys) * len(PAIR)} analyst calls")
    return _summarise("S0", runs, config.limit(), **extra)


def scenario_flow(env: Env, name: str, state: dict[str, Any]) -> dict[str, Any]:
    config = env.config
    limit = config.limit()
    n = config.repeats
    lat = (config.model_latency, config.data_latency)
    if name == "S1":
        env.set_latency(*lat)
        runs = _repeat(env, name, n, [PAIR], cold=True)
        return _summarise(name, runs, limit, limit_with_jitter_s=round(config.limit_with_jitter(38), 3))
    if name == "S2":
        env.set_latency(*lat)
        flow_run(env, [PAIR], cold=True)  # fill the caches
        runs = _repeat(env, name, n, [PAIR], cold=False)
        return _summarise(name, runs, limit)
    if name == "S3":
        env.set_latency(*lat)
        runs = _repeat(env, name, n, [BUNDLED], cold=True)
        return _summarise(name, runs, limit, tickers=BUNDLED,
                          limit_with_jitter_s=round(config.limit_with_jitter(19 * len(BUNDLED)), 3))
    if name == "S4":
        runs = _repeat(env, name, n, [PAIR], cold=True,
                       before=lambda: env.set_latency(*lat, fault_rate=config.fault_rate))
        env.set_latency(*lat)
        return _summarise(name, runs, limit, fault_rate=config.fault_rate)
    if name == "S5":
        runs = _repeat(env, name, n, [PAIR], cold=True, before=lambda: env.set_latency(*lat, outage=True))
        env.set_latency(*lat)
        # what a run with no working model still needs: the data (two round trips, see the report)
        return _summarise(name, runs, config.data_latency, limit_note="limit = data latency only")
    if name == "S6":
        env.set_latency(0.0, 0.0)
        runs = _repeat(env, name, n, [PAIR], cold=True)
        summary = _summarise(name, runs, 0.0)
        median = summary["wall_s"]["median"]
        summary["orchestration_ms_per_task_run"] = round(1000 * median / summary["task_runs"], 1)
        if config.profile:
            summary["profile"] = profile_run(lambda: flow_run(env, [PAIR], cold=True))
        env.set_latency(*lat)
        return summary
    if name == "S7":
        env.set_latency(*lat)
        pairs = [list(p) for p in itertools.combinations(BUNDLED, 2)][:: 2][: config.concurrent_runs]
        runs = _repeat(env, name, n, pairs, cold=True)
        summary = _summarise(name, runs, limit, pairs=[",".join(p) for p in pairs], mode="asyncio.gather in one process")
        s1 = state.get("S1")
        if s1:
            summary["ratio_to_s1"] = round(summary["wall_s"]["median"] / s1["wall_s"]["median"], 2)
        return summary
    raise ValueError(name)


def scenario_cli(env: Env) -> dict[str, Any]:
    """Whole ``hedgeflow analyze`` processes against this environment's fakes and server (bench/processes.py)."""
    from bench.processes import measure_processes

    rows = measure_processes(env)
    pair = rows["pair_cold"]
    return {"description": DESCRIPTIONS["CLI"], "runs": env.config.repeats, "wall_s": pair["wall_s"],
            "limit_s": pair["limit_s"], "ratio_to_limit": pair["ratio_to_limit"], "signals": pair["signals"],
            "peak_rss_mb": None, "processes": rows}
