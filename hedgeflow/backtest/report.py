"""A backtest for the terminal: the metrics, the scorecard and where the files are, as plain text."""

from __future__ import annotations

import math
from collections.abc import Sequence

from hedgeflow.backtest.models import BacktestResult, CostEstimate, ScorecardRow

__all__ = ["estimate_line", "render_text", "scorecard_text"]


def _pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:+.1%}"


def _num(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{x:.2f}"


def estimate_line(estimate: CostEstimate) -> str:
    return (f"estimate: at most {estimate.calls} model calls, {estimate.input_tokens:,} input and "
            f"{estimate.output_tokens:,} output tokens, ${estimate.cost_usd:.4f} ({estimate.note})")


def scorecard_text(rows: Sequence[ScorecardRow], horizon: int | None = None) -> str:
    """One line per (analyst, ticker, horizon), best rank IC first within each horizon."""
    chosen = [r for r in rows if horizon is None or r.horizon == horizon]
    if not chosen:
        return "no scorecard rows" + (f" at {horizon} sessions" if horizon else "")
    header = f"{'analyst':<24} {'ticker':<6} {'h':>3} {'n':>4} {'hit':>5} {'rank IC':>8} {'bull':>7} {'neutral':>7} {'bear':>7}"
    lines = [header]
    key = lambda r: (r.horizon, -(r.rank_ic if not math.isnan(r.rank_ic) else -2.0), r.analyst, r.ticker)  # noqa: E731
    for r in sorted(chosen, key=key):
        hit = "n/a" if math.isnan(r.hit_rate) else f"{r.hit_rate:.0%}"
        lines.append(
            f"{r.analyst:<24} {r.ticker:<6} {r.horizon:>3} {r.signals:>4} {hit:>5} {_num(r.rank_ic):>8} "
            f"{_pct(r.mean_return_bullish):>7} {_pct(r.mean_return_neutral):>7} {_pct(r.mean_return_bearish):>7}"
        )
    return "\n".join(lines)


def render_text(result: BacktestResult, path: str | None = None) -> str:
    req, k = result.request, result.metrics
    lines = [
        f"backtest {','.join(req.tickers)} {req.start} to {req.end}, {req.frequency}, {req.model}: {result.status}"
        + (f" ({result.stopped_reason})" if result.stopped_reason else ""),
    ]
    if k is not None:
        lines += [
            f"  return {_pct(k.total_return)} (annualised {_pct(k.annualised_return)}), "
            f"{req.benchmark} {_pct(k.benchmark_return)}",
            f"  volatility {_pct(k.volatility)}, Sharpe {_num(k.sharpe)}, Sortino {_num(k.sortino)}",
            f"  max drawdown {_pct(k.max_drawdown)} ({k.max_drawdown_peak} to {k.max_drawdown_trough}, "
            f"recovered {k.max_drawdown_recovery or 'never'})",
            f"  alpha {_pct(k.alpha)} a year, beta {_num(k.beta)}; turnover {_num(k.turnover)}x, "
            f"gross exposure {_num(k.gross_exposure)}, net {_num(k.net_exposure)}",
            f"  {k.trades} trades over {k.sessions} sessions, {len(result.rebalance_dates)} rebalance dates",
        ]
    lines.append(f"  model calls {result.usage.calls}, cost ${result.usage.cost_usd:.4f}; "
                 f"cache hits {result.cache.hits}/{result.cache.lookups}")
    for where, why in sorted(result.errors.items())[:5]:
        lines.append(f"  error {where}: {why}")
    lines += ["", "scorecard at 21 sessions:", scorecard_text(result.scorecard, 21)]
    if path:
        lines += ["", f"saved {path} (and the chart beside it)"]
    return "\n".join(lines)
