"""The picture of a backtest: equity against the benchmark, and the drawdown below it (PNG bytes)."""

from __future__ import annotations

import io

from hedgeflow.backtest.metrics import drawdown_series
from hedgeflow.backtest.models import BacktestResult

__all__ = ["equity_png"]


def equity_png(result: BacktestResult, dpi: int = 90) -> bytes:
    """Two panels sharing the date axis; matplotlib's Agg backend, so no display is needed."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    dates = [p.date for p in result.equity_curve]
    equity = [p.equity for p in result.equity_curve]
    figure = Figure(figsize=(9, 5.5), dpi=dpi, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    top.plot(dates, equity, label="strategy", color="#1f5fa8", linewidth=1.4)
    top.plot(dates, [p.benchmark for p in result.equity_curve], label=f"{result.request.benchmark} buy and hold",
             color="#888888", linewidth=1.1)
    tickers = ",".join(result.request.tickers)
    request = result.request
    top.set_title(f"{tickers}: {request.frequency} rebalancing, {request.model} ({request.start} to {request.end})",
                  fontsize=10)
    top.set_ylabel("USD")
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    drawdown = drawdown_series(equity) * 100.0
    bottom.fill_between(dates, drawdown, 0.0, color="#c0392b", alpha=0.5)
    bottom.set_ylabel("drawdown %")
    bottom.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
