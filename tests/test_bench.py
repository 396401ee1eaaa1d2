"""The A/B benchmark's machinery, at tiny latencies: S1 cold and S2 warm through a real Prefect server.

It runs ``python -m bench.run`` as a subprocess (its own Prefect import, its
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


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_s1_and_s2_report_shape_and_sane_values(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "HEDGEFLOW_REDIS_URL"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", "--json", "--scenario", "S1,S2", "--repeats", "1",
         "--model-latency", "0.05", "--model-jitter", "0", "--data-latency", "0.01", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert json.loads(out.read_text()) == report
    assert {"meta", "S1", "S2", "targets"} <= set(report)
    assert report["meta"]["limit_s"] == pytest.approx(0.01 + 2 * 0.05)

    s1, s2 = report["S1"], report["S2"]
    for entry in (s1, s2):
        assert {"median", "min", "max"} <= set(entry["wall_s"])
        assert entry["wall_s"]["min"] <= entry["wall_s"]["median"] <= entry["wall_s"]["max"]
        assert entry["limit_s"] == pytest.approx(0.11)
        assert entry["ratio_to_limit"] == pytest.approx(entry["wall_s"]["median"] / 0.11, rel=0.02)
        assert entry["peak_rss_mb"] > 0
    assert s1["signals"] == {"model": 38, "degraded": 0, "failed": 0}
    assert s1["model_calls"] == 39  # 38 analyst calls + the portfolio manager
    assert s1["cache_hit_rate"] == 0.0 and s1["input_tokens"] > 0 and s1["output_tokens"] > 0
    assert s2["cache_hit_rate"] == 1.0
    assert s2["signals"]["model"] == 38
    assert s2["model_calls"] < s1["model_calls"]
    assert {t["target"] for t in report["targets"]} >= {"S1 <= 1.3 x limit", "S2 < 0.5 s flow time"}
    assert not Path(report["meta"]["base"]).exists()  # the temporary home (and its server) is gone


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_every_scenario_runs_end_to_end_at_tiny_latencies(tmp_path: Path) -> None:
    """``hedgeflow bench --tiny``: S0..S7 and CLI once each, through the real command, to a report and JSON."""
    out = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k != "HEDGEFLOW_REDIS_URL"}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("hedgeflow")), "bench", "--tiny", "--json", "--output", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1450,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert json.loads(out.read_text()) == report
    scenarios = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "CLI")
    assert [name for name in scenarios if "error" in report[name]] == []
    assert report["meta"]["limit_s"] == pytest.approx(0.01 + 2 * 0.05)  # tiny: 10 ms of data, 50 ms a model call
    assert report["S0"]["extrapolated"]  # --tiny implies --quick
    # every signal of every run is accounted for: 19 analysts x 2 tickers, 7 tickers in S3, 3 pairs in S7
    assert sum(report["S1"]["signals"].values()) == 38 and sum(report["S3"]["signals"].values()) == 133
    assert report["S2"]["cache_hit_rate"] == 1.0 and report["S2"]["model_calls"] == 0
    assert report["S5"]["signals"] == {"model": 0, "degraded": 38, "failed": 0}  # the outage: all rules, none lost
    assert report["S4"]["signals"]["failed"] == 0
    assert report["S6"]["orchestration_ms_per_task_run"] > 0 and report["S6"]["profile"]["ours_cumulative"]
    assert len(report["S7"]["pairs"]) == 3 and report["S7"]["signals"]["failed"] == 0
    assert report["CLI"]["analyze_server_s"]["median"] > 0 and report["CLI"]["analyze_ephemeral_s"]["median"] > 0
    assert "error" not in report["TRIG"] and report["TRIG"]["process"]["run_s"]["median"] > 0  # both workers ran
    assert {t["target"] for t in report["targets"]} >= {"S1 <= 1.3 x limit", "S7 all complete, total <= 2 x S1"}
    assert not Path(report["meta"]["base"]).exists()  # the temporary home (and its server) is gone
