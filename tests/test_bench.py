"""The A/B benchmark's machinery, at tiny latencies: every scenario through a real Prefect server.

It runs ``hedgeflow bench`` as a subprocess (its own Prefect import, its
own temporary home and server, stopped at the end), so nothing leaks into the
other tests' Prefect settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_limit_scales_with_the_latencies() -> None:
    from bench.run import Config

    assert Config().limit() == pytest.approx(0.15 + 2.0 + 2.0)
    assert Config(model_latency=0.05, data_latency=0.01).limit() == pytest.approx(0.11)
    jittered = Config(model_jitter=0.2).limit_with_jitter(38)
    assert Config().limit() < jittered < 0.15 + 2.4 + 2.0


def _entry(median: float, **extra: object) -> dict[str, object]:
    return {"description": "a scenario", "wall_s": {"median": median, "min": median, "max": median}, **extra}


def test_issue_20_table_has_its_nine_rows_and_says_what_was_not_run() -> None:
    """Limit 4.15 s (0.15 + 2 x 2.0). Hand-computed: pair 5.0 s / 4.15 = 1.20 x (<= 1.35 met); seven tickers
    6.5 s / 4.15 = 1.57 x (> 1.5 missed); rules warm 1.2 s <= 1.5 s met; S1 4.9 s / 4.15 = 1.18 x (<= 1.2 met);
    S6 6.0 ms > 5 ms missed; S4 8.0 - 4.9 = 3.1 s > 2.0 s missed; TRIG, S3 and S7 not run."""
    from bench.config import Config
    from bench.report import issue_rows, table

    signals = {"model": 38, "degraded": 0, "failed": 0}
    report = {
        "CLI": _entry(5.0, processes={
            "pair_cold": _entry(5.0, tickers=["AAPL", "NVDA"], model="fake", signals=signals),
            "all_cold": _entry(6.5, tickers=["AAPL"], model="fake", signals=signals),
            "rules_warm": _entry(1.2, tickers=["AAPL", "NVDA"], model="rules", signals=signals)}),
        "S1": _entry(4.9),
        "S4": _entry(8.0),
        "S6": _entry(0.27, orchestration_ms_per_task_run=6.0, task_runs=45),
    }
    rows = issue_rows(report, Config())
    assert len(rows) == 9
    by_scenario = [(r["scenario"], r["met"], r["ratio_to_limit"]) for r in rows]
    assert by_scenario == [("CLI", True, 1.2), ("CLI", False, 1.57), ("CLI", True, None), ("S6", False, None),
                           ("TRIG", None, None), ("S4", False, 1.93), ("S1", True, 1.18), ("S3", None, None),
                           ("S7", None, None)]
    assert [r["measured"] for r in rows if r["scenario"] in ("TRIG", "S3", "S7")] == ["not run"] * 3
    assert "S1 + 3.10 s" in rows[5]["measured"]
    printed = table({**report, "issue_20": rows}, Config())
    assert printed.count("not run") == 3 and "MISSED" in printed


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_scenario_runs_end_to_end_at_tiny_latencies(tmp_path: Path) -> None:
    """``hedgeflow bench --tiny``: S0..S7, CLI and BT once each, through the real command, to a report and JSON."""
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "HEDGEFLOW_REDIS_URL"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("hedgeflow")), "bench", "--tiny", "--json", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1450,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert json.loads(out.read_text()) == report
    scenarios = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "CLI", "BT")
    assert [name for name in scenarios if "error" in report[name]] == []
    assert report["meta"]["limit_s"] == pytest.approx(0.01 + 2 * 0.05)  # tiny: 10 ms of data, 50 ms a model call
    assert report["S0"]["extrapolated"]  # --tiny implies --quick
    bt = report["BT"]  # the backtest at 2 tickers x 3 monthly dates x 19 analysts, cold then warm
    assert (bt["analyses"], bt["rebalance_dates"], bt["cache_hit_rate"]) == (2 * 3 * 19, 3, 1.0)
    assert bt["task_runs"] == 3 + 3 + 6  # a committee run per date, 2 histories + SPY's, 6 tasks after
    # every signal of every run is accounted for: 19 analysts x 2 tickers, 7 tickers in S3, 3 pairs in S7
    assert sum(report["S1"]["signals"].values()) == 38 and sum(report["S3"]["signals"].values()) == 133
    s1, s2 = report["S1"], report["S2"]
    for entry in (s1, s2):
        assert entry["wall_s"]["min"] <= entry["wall_s"]["median"] <= entry["wall_s"]["max"]
        assert entry["limit_s"] == pytest.approx(0.11)
        assert entry["ratio_to_limit"] == pytest.approx(entry["wall_s"]["median"] / 0.11, rel=0.02)
        assert entry["peak_rss_mb"] > 0
    assert s1["signals"] == {"model": 38, "degraded": 0, "failed": 0}
    assert s1["model_calls"] == 39  # 38 analyst calls + the portfolio manager
    assert s1["cache_hit_rate"] == 0.0 and s1["input_tokens"] > 0 and s1["output_tokens"] > 0
    assert s2["cache_hit_rate"] == 1.0 and s2["model_calls"] == 0 and s2["signals"]["model"] == 38
    assert report["S5"]["signals"] == {"model": 0, "degraded": 38, "failed": 0}  # the outage: all rules, none lost
    assert report["S4"]["signals"]["failed"] == 0
    assert report["S6"]["orchestration_ms_per_task_run"] > 0 and report["S6"]["profile"]["ours_cumulative"]
    assert len(report["S7"]["pairs"]) == 3 and report["S7"]["signals"]["failed"] == 0
    processes = report["CLI"]["processes"]  # whole `hedgeflow analyze` processes, every signal delivered
    assert sum(processes["pair_cold"]["signals"].values()) == 38 and processes["pair_cold"]["signals"]["model"] == 38
    assert sum(processes["all_cold"]["signals"].values()) == 133 and processes["all_cold"]["signals"]["failed"] == 0
    assert processes["rules_warm"]["wall_s"]["median"] > 0
    assert [row["measured"] != "not run" for row in report["issue_20"]].count(True) == 9  # every row measured
    assert "error" not in report["TRIG"] and report["TRIG"]["process"]["run_s"]["median"] > 0  # both workers ran
    assert all(report["TRIG"][kind]["tail_s"]["median"] >= 0 for kind in ("hedgeflow", "process"))  # each settled
    assert {t["target"] for t in report["targets"]} >= {"S1 <= 1.3 x limit", "S2 < 0.5 s flow time",
                                                        "S7 all complete, total <= 2 x S1"}
    assert not Path(report["meta"]["base"]).exists()  # the temporary home (and its server) is gone
