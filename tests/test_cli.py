"""The CLI: listings, error paths (one line, exit 2, before any work) and JSON output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hedgeflow.analysts.registry import CATALOGUE
from deployments.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_analysts_lists_the_committee(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analysts"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(CATALOGUE) == 19
    assert all(line.split()[0] in CATALOGUE and len(line.split()) > 2 for line in lines)


def test_tickers_lists_the_bundled_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tickers"]) == 0
    out = capsys.readouterr().out
    assert "AAPL   2018-01-02 to 2025-10-08" in out
    assert "SPY" in out and "benchmark" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "--tickers", "ZZZZ"], "unknown ticker(s) ZZZZ; available: AAPL"),
        (["analyze", "--tickers", "AAPL", "--end", "2025-13-01"], "malformed date"),
        (["analyze", "--tickers", "AAPL", "--start", "2025-05-01", "--end", "2025-04-01"], "is after end"),
        (["analyze", "--tickers", "AAPL", "--analysts", "soros"], "unknown analyst(s) soros"),
        (["analyze", "--tickers", ","], "at least one ticker"),
        (["analyze", "--tickers", "AAPL", "--end", "2031-01-01"], "outside the data for AAPL: 2018-01-02 to 2025-10-08"),
        (["history", "--limit", "0"], "--limit must be at least 1"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1 or "usage:" in err


def test_bad_input_never_imports_prefect() -> None:
    code = "import sys; from deployments.cli import main; main(['analyze', '--tickers', 'ZZZZ']); print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_json_output_is_the_run_result_and_nothing_else(tmp_path: Path) -> None:
    env = {**os.environ, "HEDGEFLOW_HOME": str(tmp_path), "HEDGEFLOW_SERVER": "ephemeral"}
    out = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "analyze", "--tickers", "AAPL,NVDA", "--end", "2025-10-08", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=240,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert {(s["analyst"], s["ticker"]) for s in result["signals"]} == {(a, t) for a in CATALOGUE for t in ("AAPL", "NVDA")}
    assert {o["ticker"] for o in result["orders"]} == {"AAPL", "NVDA"}
