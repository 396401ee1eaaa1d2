"""The CLI: listings, error paths (one line, exit 2, before any work), options and JSON output.

Behaviour about the process (exit codes, what reaches stderr) runs the real
``hedgeflow`` command as a subprocess; parsing and messages run in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deployments.cli import _parser, main
from deployments.cli_analyze import build_request
from hedgeflow.analysts.registry import CATALOGUE
from tests.flowkit import on_session_server

ROOT = Path(__file__).resolve().parents[1]
HEDGEFLOW = str(Path(sys.executable).with_name("hedgeflow"))


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**env, "HEDGEFLOW_SERVER": "ephemeral", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", **extra}


def test_analysts_lists_the_committee(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analysts"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(CATALOGUE) == 19
    assert all(line.split()[0] in CATALOGUE and len(line.split()) > 2 for line in lines)


def test_tickers_lists_the_bundled_range(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tickers"]) == 0
    out = capsys.readouterr().out
    assert "AAPL   2018-01-02 to 2025-10-08" in out
    assert "SPY" in out and "benchmark, not analysed" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["analyze", "--tickers", "ZZZZ"], "unknown ticker(s) ZZZZ; available: AAPL"),
        (["analyze", "--tickers", "AAPL", "--end", "2025-13-01"], "malformed date '2025-13-01'; use YYYY-MM-DD"),
        (["analyze", "--tickers", "AAPL", "--start-date", "yesterday"], "malformed date 'yesterday'"),
        (["analyze", "--tickers", "AAPL", "--start", "2025-05-01", "--end", "2025-04-01"], "is after end"),
        (["analyze", "--tickers", "AAPL", "--analysts", "soros"], "unknown analyst(s) soros"),
        (["analyze", "--tickers", ","], "at least one ticker"),
        (["analyze", "--tickers", "AAPL", "--end", "2031-01-01"], "outside the data for AAPL: 2018-01-02 to 2025-10-08"),
        (["analyze", "--tickers", "AAPL", "--start", "2010-01-01"], "before the data for AAPL begins (2018-01-02)"),
        (["analyze", "--tickers", "AAPL", "--start", "2025-10-04", "--end", "2025-10-05"], "is a weekend"),
        (["analyze", "--tickers", "AAPL,SPY"], "SPY has prices only (a benchmark)"),
        (["analyze", "--tickers", "AAPL", "--model", "anthropic:claude-haiku-4-5"], "set ANTHROPIC_API_KEY"),
        (["analyze", "--tickers", "AAPL", "--model", "openai:gpt-4.1-mini"], "set OPENAI_API_KEY"),
        (["analyze", "--tickers", "AAPL", "--data-provider", "financialdatasets"], "needs FINANCIAL_DATASETS_API_KEY"),
        (["analyze", "--tickers", "AAPL", "--model", "block:claude"], "use block:<block-type-slug>/<name>"),
        (["analyze", "--tickers", "AAPL", "--bogus"], "unrecognized arguments: --bogus"),
        (["history", "--limit", "0"], "--limit must be at least 1"),
        (["history", "--status", "sideways"], "invalid choice: 'sideways'"),
        (["history", "--run", "no-such-run"], "no run with id 'no-such-run'"),
        (["cache", "clear", "--ticker", "ZZZZ"], "no cached results for ZZZZ, which is not a bundled ticker"),
        (["bench", "--scenario", "S9"], "unknown scenario(s) S9"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "FINANCIAL_DATASETS_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "usage:" not in err


def test_a_bad_port_setting_is_one_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEFLOW_SERVER_PORT", "http")
    assert main(["analyze", "--tickers", "AAPL"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hedgeflow: error: HEDGEFLOW_SERVER_PORT='http' is not a port number; use 1-65535, or 0 for any free port"
    )


def test_bad_input_and_light_commands_never_import_prefect() -> None:
    code = (
        "import sys; from deployments.cli import main\n"
        "for argv in (['analyze', '--tickers', 'ZZZZ'], ['--version'], ['analysts'], ['tickers'], ['--help']):\n"
        "    main(argv)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'prefect', 'pandas', 'rich', 'anthropic', 'openai'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"hedgeflow {version('hedgeflow')}\n"


def test_model_help_lists_every_kind_of_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "openai-compatible:M@URL" in out.replace("- ", "-") and "block:<block-type-slug>/<name>" in out


def test_ai_hedge_fund_option_names_are_aliases() -> None:
    args = _parser().parse_args(
        ["analyze", "--tickers", "AAPL", "--start-date", "2025-01-02", "--end-date", "2025-03-03", "--initial-cash", "5000"]
    )
    assert (str(args.start), str(args.end), args.cash) == ("2025-01-02", "2025-03-03", 5000.0)


def test_analyst_names_any_case_and_all_with_others() -> None:
    def analysts(text: str) -> list[str] | None:
        args = _parser().parse_args(["analyze", "--tickers", "aapl", "--analysts", text])
        return build_request(args, lambda line: None).analysts

    assert analysts("all,technicals") is None
    assert analysts("ALL") is None
    assert analysts("Technicals,WARREN_BUFFETT") == ["technicals", "warren_buffett"]


def test_a_weekend_end_is_noticed_before_the_run() -> None:
    notes: list[str] = []
    args = _parser().parse_args(["analyze", "--tickers", "AAPL", "--end", "2025-10-05"])
    build_request(args, notes.append)
    assert notes == ["end 2025-10-05 is a Sunday, not a trading day: the analysis is as of 2025-10-03, the session before"]


def test_bench_options_reach_the_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "-h"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hedgeflow bench")
    assert all(option in out for option in ("--json", "--scenario", "--quick", "--tiny"))


def test_cache_clear_for_a_bundled_ticker_with_nothing_cached_is_fine(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "clear", "--ticker", "aapl"]) == 0
    assert capsys.readouterr().out == "removed 0 cached entries for AAPL\n"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_missing_model_block_or_its_missing_key_is_one_line_before_the_run(
    tmp_path: Path, prefect_server: None
) -> None:
    # the session's Prefect server (a temporary one per process took most of this test's time); the
    # block names are this test's own, as the server outlives it
    suffix = tmp_path.name.replace("_", "-").lower()
    env = _env(HEDGEFLOW_HOME=str(tmp_path), **on_session_server())
    env.pop("ANTHROPIC_API_KEY", None)

    def analyze(block: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([HEDGEFLOW, "analyze", "--tickers", "AAPL", "--model", f"block:{block}"],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=240)

    missing = analyze(f"hedgeflow-anthropic-model/nope-{suffix}")
    assert missing.returncode == 2, missing.stderr[-2000:]
    assert missing.stderr.startswith(f"hedgeflow: error: no model block 'hedgeflow-anthropic-model/nope-{suffix}'")
    assert len(missing.stderr.strip().splitlines()) == 1 and missing.stdout == ""

    save = f"from blocks.models import AnthropicModel; AnthropicModel(model='claude-haiku-4-5').save('keyless-{suffix}')"
    subprocess.run([sys.executable, "-c", save], cwd=ROOT, env=env, check=True, capture_output=True, timeout=240)
    keyless = analyze(f"hedgeflow-anthropic-model/keyless-{suffix}")
    assert keyless.returncode == 2, keyless.stderr[-2000:]
    assert keyless.stderr == (
        f"hedgeflow: error: model block 'hedgeflow-anthropic-model/keyless-{suffix}': no API key for anthropic: "
        "set ANTHROPIC_API_KEY or configure the model block\n"
    )


@pytest.mark.slow
def test_json_output_is_the_run_result_and_nothing_else_and_stderr_stays_empty(tmp_path: Path) -> None:
    """Not on a terminal, a plain run is quiet: no Prefect INFO lines, no ephemeral-server shutdown noise."""
    out = subprocess.run(
        [HEDGEFLOW, "analyze", "--tickers", "AAPL,NVDA", "--end", "2025-10-08", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=_env(HEDGEFLOW_HOME=str(tmp_path)), timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stderr == ""  # no "Error flushing 1 events", no CancelledError, no telemetry notice
    result = json.loads(out.stdout)
    assert {(s["analyst"], s["ticker"]) for s in result["signals"]} == {(a, t) for a in CATALOGUE for t in ("AAPL", "NVDA")}
    assert {o["ticker"] for o in result["orders"]} == {"AAPL", "NVDA"}


@pytest.mark.slow
def test_verbose_shows_task_logs_and_plain_text_is_the_report(tmp_path: Path, prefect_server: None) -> None:
    env = _env(HEDGEFLOW_HOME=str(tmp_path), **on_session_server())
    out = subprocess.run(
        [HEDGEFLOW, "analyze", "--tickers", "AAPL", "--analysts", "Technicals", "--verbose"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=240,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "INFO" in out.stderr and "technicals AAPL:" in out.stderr
    assert "\x1b[" not in out.stdout  # not a terminal: no colour codes
    assert "Decisions" in out.stdout and "cash after" in out.stdout


def test_quiet_and_verbose_exclude_each_other_and_quiet_drops_notices(capsys: pytest.CaptureFixture[str]) -> None:
    from deployments.cli import _say

    assert main(["analyze", "--tickers", "AAPL", "-q", "-v"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    _say(True)("end 2025-10-05 is a Sunday")
    _say(False)("end 2025-10-05 is a Sunday")
    assert capsys.readouterr().err == "hedgeflow: end 2025-10-05 is a Sunday\n"
