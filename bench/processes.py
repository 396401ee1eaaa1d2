"""The CLI scenario: whole ``hedgeflow analyze`` processes, as a user waits for them.

Each run is a subprocess of the installed ``hedgeflow`` command with the
benchmark's environment: its Prefect server (the local background server the
CLI would reuse), its fake model (``openai-compatible:fake@<url>/v1``) and
fake financialdatasets.ai server, and a home of its own (SQLite, the local
cache tier). Three rows of issue 20:

* ``pair_cold``: AAPL,NVDA, all 19 analysts, the fake model, an empty cache;
* ``all_cold``: the seven bundled tickers (133 signals), the same;
* ``rules_warm``: AAPL,NVDA offline with the rules model, the cache full.

Cold means the home's result files are deleted before the run (with
``--redis``, whose keys others may share, the run gets ``--refresh``
instead). Wall time is from the start of the process to its exit; the
printed RunResult (``--json``) gives the signal counts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.config import BUNDLED, PAIR, Config, say, times
from bench.environment import Env

__all__ = ["PROCESS_ROWS", "measure_processes"]

PROCESS_ROWS = ("pair_cold", "all_cold", "rules_warm")


def _command(config: Config) -> list[str]:
    if config.cli_command:
        return [config.cli_command]
    script = Path(sys.executable).with_name("hedgeflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deployments.cli"]


def _environment(env: Env, home: Path) -> dict[str, str]:
    """The bench's environment (API URL, data server, model timeout), with a home for the CLI processes.

    Another install's command (``--cli-command``) gets no API URL and none of this checkout on its path:
    it starts its own local server in that home at the warm-up process and reuses it, as a user's CLI does.
    """
    out = dict(os.environ)
    out.update(HEDGEFLOW_HOME=str(home), HEDGEFLOW_SERVER="auto")
    if env.config.cli_command:
        out.pop("PREFECT_API_URL", None)
    else:
        out["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def _run(argv: list[str], environ: dict[str, str], config: Config) -> tuple[float, dict[str, Any]]:
    """One whole process: (wall seconds, its RunResult as JSON); a failing process raises with its last words."""
    started = time.perf_counter()
    done = subprocess.run(_command(config) + argv + ["--json"], env=environ, capture_output=True, text=True,
                          timeout=600, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:  # completed or degraded (the counts say which)
        raise RuntimeError(f"hedgeflow {' '.join(argv[:3])} ... exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return wall, json.loads(done.stdout)


def _stop_own_server(environ: dict[str, str], config: Config) -> None:
    """The local server another install's command started in the CLI home (``hedgeflow server stop``)."""
    if config.cli_command:
        subprocess.run(_command(config) + ["server", "stop"], env=environ, capture_output=True, timeout=120,
                       check=False)


def _counts(result: dict[str, Any], analysts: int = 19) -> dict[str, int]:
    signals = result["signals"]
    degraded = sum(1 for s in signals if s["degraded"])
    return {"model": sum(1 for s in signals if s["source"] == "model" and not s["degraded"]),
            "degraded": degraded, "failed": analysts * len(result["request"]["tickers"]) - len(signals)}


def _cold(home: Path, config: Config) -> list[str]:
    """Empty the local tier; with Redis, ask the run to recompute (``--refresh``) instead."""
    if config.redis:
        return ["--refresh"]
    shutil.rmtree(home / "results", ignore_errors=True)
    return []


def measure_processes(env: Env) -> dict[str, Any]:
    """The three rows, each the median of ``config.repeats`` processes after one warm-up process."""
    config = env.config
    home = Path(env.base) / "cli-home"
    environ = _environment(env, home)
    env.set_latency(config.model_latency, config.data_latency)
    say("  warm-up process (the database and its migrations) ...")
    try:
        return _rows(env, home, environ)
    finally:
        _stop_own_server(environ, config)


def _rows(env: Env, home: Path, environ: dict[str, str]) -> dict[str, Any]:
    config = env.config
    end = ["--end", env.end.isoformat()]
    fake = ["--model", env.model_spec, "--data-provider", "financialdatasets", *end]
    _run(["analyze", "--tickers", PAIR[0], "--analysts", "technicals", *end], environ, config)
    out: dict[str, Any] = {}
    for row, tickers, argv in (("pair_cold", PAIR, fake), ("all_cold", BUNDLED, fake), ("rules_warm", PAIR, end)):
        walls: list[float] = []
        counts: dict[str, int] = {}
        warm = row == "rules_warm"
        if warm:
            _run(["analyze", "--tickers", ",".join(tickers), *argv], environ, config)  # fills the cache
        for _ in range(max(1, config.repeats)):
            extra = [] if warm else _cold(home, config)
            if not warm:
                env.set_latency(config.model_latency, config.data_latency)  # a closed breaker, no queued faults
            wall, result = _run(["analyze", "--tickers", ",".join(tickers), *argv, *extra], environ, config)
            counts = _counts(result)
            walls.append(wall)
            say(f"  CLI {row}: {wall:.2f} s, signals {counts}, status {result['status']}")
        limit = None if warm else config.limit()
        median = times(walls)
        out[row] = {"tickers": tickers, "model": "rules" if warm else "fake", "wall_s": median, "signals": counts,
                    "limit_s": limit, "ratio_to_limit": round(median["median"] / limit, 2) if limit else None}
    return out
