"""The A/B benchmark: before (sequential), after (the flow), and the physical limit, in one run.

    python -m bench.run                      # every scenario, a table
    python -m bench.run --json               # one JSON object keyed by scenario
    python -m bench.run --scenario S1,S2     # some scenarios (S0..S7, CLI)
    python -m bench.run --quick              # S0 on a subset of analysts, extrapolated
    python -m bench.run --tiny               # every scenario once at tiny latencies: a smoke test (the tests use it)

The fake model server (OpenAI protocol, 2.0 s +- 20 %) and the fake
financialdatasets.ai server (0.15 s) run in this process (``serve_in_thread``);
the flow reaches them through the real financialdatasets provider and the real
OpenAI SDK (``openai-compatible:fake@<url>/v1``). The flow talks to a Prefect
API: ``PREFECT_API_URL`` when set, else a Hedgeflow background server started
in a temporary ``HEDGEFLOW_HOME`` and stopped at the end. ``HEDGEFLOW_REDIS_URL``
is ignored unless ``--redis URL`` is given.

Scenarios (AAPL,NVDA and all 19 analysts unless said otherwise):

S0 sequential   no Prefect, no cache: every fetch and model call one after another (the "before")
S1 cold         the hedge_fund flow, caches cleared, persist=True (SQLite in the temporary home)
S2 warm         S1 again, cached
S3 scale        all 7 bundled tickers, cold
S4 faults       S1 with 20 % transient faults at the model server
S5 outage       S1 with every model call failing
S6 overhead     S1 with zero latency everywhere: what Prefect and our code cost; profiled
S7 concurrent   10 cold S1 runs at once on different ticker pairs (asyncio.gather, one process)
CLI             whole ``hedgeflow analyze`` processes against the same fakes and server (bench/processes.py):
                AAPL,NVDA cold, 7 tickers cold (fake model), AAPL,NVDA warm (rules model, offline)
BT              the backtest of issue #19 cold and warm (7 tickers, monthly, 2019-01..2025-09; bench/backtest.py)
LOAD            50 runs over overlapping pairs on 3 hedgeflow workers, a PostgreSQL-backed server and low provider
                limits (bench/load.py); --tiny runs it (6 runs, 2 workers) only when named
TRIG            a deployment run triggered to Completed, warm, on ``hedgeflow worker`` and on Prefect's
                process worker, from bench/trigger.py (offline data, rules model)

The critical-path limit is one data round trip + one analyst model call + one
portfolio model call (0.15 + 2.0 + 2.0 s at the default latencies).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from typing import Any, NoReturn

from bench.config import ALL_SCENARIOS, DESCRIPTIONS, PAIR, QUICK_ANALYSTS, SLOW_SCENARIOS, Config, say
from bench.report import issue_rows, table, targets

__all__ = ["ALL_SCENARIOS", "Config", "main", "run_benchmark"]


def run_benchmark(config: Config) -> dict[str, Any]:
    """Every selected scenario; the report is one dict keyed by scenario (plus ``meta`` and ``targets``)."""
    from bench.backtest import scenario_backtest
    from bench.environment import environment, prefect_settings
    from bench.scenarios import flow_run, scenario_cli, scenario_flow, scenario_s0
    report: dict[str, Any] = {}
    flow_scenarios = [s for s in config.scenarios if s not in ("CLI", "TRIG", "LOAD")]
    if any(s not in ("TRIG", "LOAD") for s in config.scenarios):  # CLI runs in the same environment (fakes, server)
        with environment(config) as env, prefect_settings(env.api_url):
            report["meta"] = {
                "config": {k: v for k, v in asdict(config).items() if k != "scenarios"},
                "limit_s": round(config.limit(), 3),
                "prefect_api": env.api_url,
                "base": env.base,
                "end": env.end.isoformat(),
                "python": sys.version.split()[0],
                "cpus": os.cpu_count(),
                "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            }
            if flow_scenarios:
                env.set_latency(0.0, 0.0)
                say("warm-up run (imports, database, pools) ...")
                flow_run(env, [PAIR], cold=True)
            for name in flow_scenarios:
                say(f"{name}: {DESCRIPTIONS[name]} ...")
                scenario = (partial(scenario_s0, env) if name == "S0"
                            else partial(scenario_backtest, env, config.tiny_backtest) if name == "BT"
                            else partial(scenario_flow, env, name, report))
                _attempt(report, name, scenario)
            if "CLI" in config.scenarios:
                say(f"CLI: {DESCRIPTIONS['CLI']} ...")
                _attempt(report, "CLI", partial(scenario_cli, env))
            report["meta"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if "LOAD" in config.scenarios:
        from bench.load import scenario_load

        say(f"LOAD: {config.load_runs} runs on {config.load_workers} workers (bench.load) ...")
        _attempt(report, "LOAD", lambda: scenario_load(config))
    if "TRIG" in config.scenarios:
        from bench.trigger import scenario_trigger

        say("TRIG: deployment runs, hedgeflow worker and process worker (bench.trigger) ...")
        _attempt(report, "TRIG", lambda: scenario_trigger(config))
    report["targets"] = targets({k: v for k, v in report.items() if "error" not in v}, config)
    report["issue_20"] = issue_rows(report, config)
    return report


def _attempt(report: dict[str, Any], name: str, scenario: Callable[[], dict[str, Any]]) -> None:
    """Run one scenario; a failure is recorded in its entry (and the exit code), and the others still run."""
    try:
        report[name] = scenario()
    except Exception as exc:  # noqa: BLE001 - a benchmark reports every scenario it could run
        report[name] = {"description": DESCRIPTIONS[name], "error": f"{type(exc).__name__}: {exc}"[:2000]}
        say(f"  {name} failed: {report[name]['error'][:300]}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None, prog: str = "python -m bench.run") -> int:
    parser = _Parser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object keyed by scenario")
    parser.add_argument("--scenario", default="all", help="comma-separated: S0..S7, CLI, BT, TRIG, LOAD, or all (default)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario (default 3; S0 runs once)")
    parser.add_argument("--s0-repeats", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help=f"S0 calls {QUICK_ANALYSTS} analysts per ticker and extrapolates")
    parser.add_argument("--tiny", action="store_true",
                        help="every selected scenario once at tiny latencies (a smoke test; overrides the latencies)")
    parser.add_argument("--model-latency", type=float, default=2.0)
    parser.add_argument("--model-jitter", type=float, default=0.2)
    parser.add_argument("--data-latency", type=float, default=0.15)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--concurrent-runs", type=int, default=10)
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run of S6")
    parser.add_argument("--redis", default=None, help="use this Redis for the cache tier and the breaker")
    parser.add_argument("--prefect-server", choices=("local", "configured"), default="local",
                        help="local (default): the server `hedgeflow analyze` starts, in the temporary home; "
                             "configured: PREFECT_API_URL")
    parser.add_argument("--output", default=None, help="also write the JSON report to this file")
    parser.add_argument("--cli-command", default=None,
                        help="CLI: time this hedgeflow command (e.g. an older checkout's) instead of this install's; "
                             "it starts and reuses its own local server, as a user's would")
    args = parser.parse_args(argv)
    if args.cli_command and not shutil.which(args.cli_command):
        parser.error(f"--cli-command {args.cli_command!r} is not an executable (give a hedgeflow command's path)")
    wanted = list(ALL_SCENARIOS) if args.scenario == "all" else [s.strip().upper() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in ALL_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; use {', '.join(ALL_SCENARIOS)}")
    tiny = [s for s in ALL_SCENARIOS if s in wanted and (args.scenario != "all" or s not in SLOW_SCENARIOS)]
    config = Config.tiny(tiny, redis=args.redis) if args.tiny else Config(
        model_latency=args.model_latency, model_jitter=args.model_jitter, data_latency=args.data_latency,
        fault_rate=args.fault_rate, repeats=max(1, args.repeats), s0_repeats=max(1, args.s0_repeats),
        quick=args.quick, redis=args.redis, profile=not args.no_profile, concurrent_runs=args.concurrent_runs,
        scenarios=[s for s in ALL_SCENARIOS if s in wanted],
    )
    config.prefect_server, config.cli_command = args.prefect_server, args.cli_command
    report = run_benchmark(config)
    text = json.dumps(report, indent=2, default=str)
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    print(text if args.json else table(report, config))
    return 1 if any(isinstance(v, dict) and "error" in v for v in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
