"""``hedgeflow backtest`` and ``hedgeflow scorecard``: one-line errors before work, JSON, files, stored scorecards."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from deployments.cli import main
from hedgeflow.backtest import BacktestRequest, BacktestResult, ScorecardRow
from hedgeflow.backtest.storage import save_result

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["backtest", "--tickers", "FOO"], "unknown ticker(s) FOO"),
        (["backtest", "--tickers", "AAPL", "--start", "2025-01-01", "--end", "2024-01-01"], "must be before end"),
        (["backtest", "--tickers", "AAPL", "--start", "2010-01-01", "--end", "2020-01-01"], "outside the data"),
        (["backtest", "--tickers", "AAPL", "--analysts", "nobody"], "unknown analyst(s) nobody"),
        (["backtest", "--tickers", "AAPL", "--margin-requirement", "0"], "invalid margin_requirement"),
        (["backtest", "--tickers", "AAPL", "--model", "gpt:x"], "model"),
        (["scorecard"], "no stored backtest"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_bad_input_is_refused_before_prefect_loads() -> None:
    code = ("import sys; from deployments.cli import main; rc = main(['backtest', '--tickers', 'FOO']);"
            "print('RC', rc, 'prefect' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "RC 2 False" in out.stdout


def _stored(tmp_path: Path) -> BacktestResult:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    rows = [ScorecardRow(analyst="technicals", ticker="AAPL", horizon=h, signals=4, hit_rate=0.75, rank_ic=0.5,
                         mean_return_bullish=0.02, mean_return_neutral=float("nan"), mean_return_bearish=-0.01)
            for h in (5, 21, 63)]
    result = BacktestResult(run_id="run-1", request=BacktestRequest(tickers=["AAPL"], start=dt.date(2024, 1, 1),
                            end=dt.date(2024, 3, 1)), started_at=now, finished_at=now, scorecard=rows)
    save_result(result, None)
    return result


def test_scorecard_prints_the_stored_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _stored(tmp_path)
    assert main(["scorecard", "--horizon", "21"]) == 0
    out = capsys.readouterr().out
    assert "technicals" in out and " 21 " in out and " 63 " not in out
    assert main(["scorecard", "--run", "run-1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["horizon"] for r in rows] == [5, 21, 63] and rows[0]["mean_return_neutral"] is None


def test_backtest_json_and_the_picture_beside_it(cold_cache: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["backtest", "--tickers", "V", "--analysts", "technicals", "--start", "2024-01-01", "--end", "2024-03-31",
            "--slippage-bps", "5", "--output", str(tmp_path), "--json"]
    assert main(argv) == 0
    result = BacktestResult.model_validate_json(capsys.readouterr().out)  # stdout holds the JSON and nothing else
    assert result.request.costs.slippage_bps == 5 and len(result.rebalance_dates) == 3
    assert (tmp_path / f"{result.run_id}.json").exists()
    assert (tmp_path / f"{result.run_id}.png").read_bytes().startswith(b"\x89PNG")


def test_a_priced_model_prints_its_estimate_first(capsys: pytest.CaptureFixture[str]) -> None:
    from deployments.backtest_cli import _estimate

    # 2 analysts x 1 ticker x 3 monthly dates = 6 calls of 900 + 150 tokens at $0.40 / $1.60 per million
    request = BacktestRequest(tickers=["AAPL"], start=dt.date(2024, 1, 1), end=dt.date(2024, 3, 31),
                              analysts=["technicals", "valuation"], model="openai:gpt-4.1-mini")
    _estimate(request)
    line = capsys.readouterr().err.strip()
    expected = (6 * 900 * 0.40 + 6 * 150 * 1.60) / 1e6
    assert line.startswith("estimate: at most 6 model calls, 5,400 input and 900 output tokens")
    assert f"${expected:.4f}" in line
