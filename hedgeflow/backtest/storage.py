"""Backtest results on disk: ``<data dir>/backtests/<run id>.json`` with its PNG beside it.

A JSON file rather than database tables, so the store's schema (owned by the
run history) needs no migration; ``hedgeflow scorecard`` reads them back.
"""

from __future__ import annotations

from pathlib import Path

from hedgeflow.backtest.models import BacktestResult
from hedgeflow.errors import HedgeflowError
from hedgeflow.paths import home

__all__ = ["backtest_dir", "latest_result_path", "load_result", "save_result"]


def backtest_dir() -> Path:
    path = home() / "backtests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_result(result: BacktestResult, png: bytes | None, directory: Path | None = None) -> Path:
    """Write the result as JSON (and the chart as PNG with the same stem); returns the JSON path."""
    folder = directory or backtest_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.run_id}.json"
    path.write_text(result.model_dump_json(indent=1))
    if png is not None:
        path.with_suffix(".png").write_bytes(png)
    return path


def latest_result_path(directory: Path | None = None) -> Path | None:
    """The newest stored result, or None."""
    files = sorted((directory or backtest_dir()).glob("*.json"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def load_result(source: str | Path | None = None) -> BacktestResult:
    """A stored result: a JSON path, a run id, or (None) the newest one."""
    if source is None:
        path = latest_result_path()
        if path is None:
            raise HedgeflowError(f"no stored backtest in {backtest_dir()}; run `hedgeflow backtest` first")
    else:
        path = Path(source)
        if not path.exists():
            path = backtest_dir() / f"{source}.json"
        if not path.exists():
            raise HedgeflowError(f"no stored backtest {source!r}; give a run id or a JSON path from `hedgeflow backtest`")
    return BacktestResult.model_validate_json(path.read_text())
