"""Whole-process latency of the ``hedgeflow`` command, and where it goes.

    python -m bench.startup            # a table
    python -m bench.startup --json     # the same numbers as JSON
    python -m bench.startup --repeat 5 --skip-fresh

Everything runs in a throw-away directory (HEDGEFLOW_HOME and PREFECT_HOME),
so the user's data, Prefect profile and server are never touched; the
background server this starts is stopped at the end.

Measured, each as the median of ``--repeat`` runs after one warm-up:

* ``hedgeflow --help`` and ``hedgeflow analysts``: wall time of the command.
* ``hedgeflow analyze --tickers AAPL,NVDA`` (rules model, offline data) as a
  real subprocess, with a running background server (PREFECT_API_URL set by
  :func:`deployments.local_server.resolve_api`, as the CLI will) and in Prefect's
  ephemeral mode (HEDGEFLOW_SERVER=ephemeral).
* the same run split into phases by an instrumented child process
  (``bench/startup_child.py``) that does
  what the CLI does, step by step: interpreter start, resolving the API,
  CLI and request validation, importing the flow (Prefect), connecting the
  Prefect client (in ephemeral mode: starting the temporary server), the
  flow run, printing the report, and process exit (atexit: stopping the
  temporary server, flushing the log and event workers).
* the first command on a fresh machine: empty homes, so the background
  server creates its database (server mode) or the temporary server does
  (ephemeral mode).
* the imports on the path: ``python -X importtime -c "import flows.hedge_fund"``
  summed per top-level package.

This module imports only the standard library at the top, so the child's
interpreter-start phase is not inflated by the benchmark itself.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

TICKERS = "AAPL,NVDA"
ROOT = Path(__file__).resolve().parent.parent
PHASES = (
    "interpreter", "resolve_api", "cli_and_validation", "import_flow", "connect", "flow", "output",
    "drain_events", "drain_logs", "exit",
)  # fmt: skip


# --------------------------------------------------------------------------- helpers


class MeasurementFailed(RuntimeError):
    """The measured command failed; the message says after how long and why."""


def _env(base: Path, mode: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        HEDGEFLOW_HOME=str(base / "hedgeflow-home"),
        PREFECT_HOME=str(base / "prefect-home"),  # the client's results and the ephemeral database
        HEDGEFLOW_SERVER=mode,
        HEDGEFLOW_SERVER_PORT="0",  # any free port: never take 4200 from the user's server
        HEDGEFLOW_SERVER_TIMEOUT=env.get("HEDGEFLOW_SERVER_TIMEOUT", "180"),
        # the first ephemeral start migrates a new database: Prefect's 20 s is short on a busy machine
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=env.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def _hedgeflow() -> list[str]:
    script = Path(sys.executable).with_name("hedgeflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "deployments.cli"]


def _wall(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.decode()[-400:]}")
    return elapsed


def _phases(env: dict[str, str], workdir: Path) -> dict[str, float]:
    marks_path = workdir / "marks.json"
    with contextlib.suppress(FileNotFoundError):
        marks_path.unlink()
    started = time.time()
    done = subprocess.run(
        [sys.executable, "-m", "bench.startup_child", str(marks_path)],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    ended = time.time()
    if done.returncode != 0:
        last = [line for line in done.stderr.decode(errors="replace").splitlines() if "Error" in line]
        raise MeasurementFailed(f"failed after {ended - started:.1f} s: {(last or ['?'])[-1].strip()[:300]}")
    marks = json.loads(marks_path.read_text())
    out = {"interpreter": marks["child_start"] - started}
    previous = marks["child_start"]
    for phase in PHASES[1:-1]:
        out[phase] = marks[phase] - previous
        previous = marks[phase]
    out["exit"] = ended - previous
    out["total"] = ended - started
    return out


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(row[key] for row in rows), 3) for key in rows[0]}


def _times(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def _importtime(env: dict[str, str], top: int = 12) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import flows.hedge_fund"],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    per_package: dict[str, int] = {}
    slowest: list[tuple[int, str]] = []
    total = 0
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative_us, name = line[len("import time:") :].split("|", 2)
        own, module = int(self_us), name.strip()
        package = module.split(".")[0]
        per_package[package] = per_package.get(package, 0) + own
        total += own
        slowest.append((own, module))
    ranked = sorted(per_package.items(), key=lambda item: -item[1])[:top]
    slowest.sort(reverse=True)
    return {
        "total_s": round(total / 1e6, 3),
        "by_package_s": {name: round(us / 1e6, 3) for name, us in ranked},
        "slowest_modules_s": {name: round(us / 1e6, 3) for us, name in slowest[:top]},
    }


@contextlib.contextmanager
def _workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="hedgeflow-startup-"))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def _stop_server(env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-c", "from deployments.local_server import server_stop; server_stop()"],
        env=env, cwd=ROOT, check=False,
    )  # fmt: skip


def _start_server(env: dict[str, str]) -> tuple[str, float]:
    code = "import sys; from deployments.local_server import resolve_api; print(resolve_api(lambda m: print(m, file=sys.stderr)))"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    url = done.stdout.strip()
    if done.returncode != 0 or not url.startswith("http"):
        raise RuntimeError(f"could not start the background server: {done.stderr.strip()[-400:]}")
    return url, elapsed


# --------------------------------------------------------------------------- the measurement


def measure(repeat: int, fresh: bool, keep: bool, log: bool = True) -> dict[str, object]:
    def say(text: str) -> None:
        if log:
            print(text, file=sys.stderr, flush=True)

    report: dict[str, object] = {"repeat": repeat, "python": sys.version.split()[0], "cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        report["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    with _workdir(keep) as base:
        ephemeral = _env(base, "ephemeral")
        auto = _env(base, "auto")
        try:
            say("light commands ...")
            for name, argv in (("help", ["--help"]), ("analysts", ["analysts"])):
                _wall(_hedgeflow() + argv, ephemeral)
                report[f"{name}_s"] = _times([_wall(_hedgeflow() + argv, ephemeral) for _ in range(repeat)])

            if fresh:
                for label, mode in (("server", "auto"), ("ephemeral", "ephemeral")):
                    say(f"first command on a fresh machine, {label} mode ...")
                    env = _env(base / f"fresh-{label}", mode)
                    try:
                        first = _phases(env, base)
                    except MeasurementFailed as exc:
                        # Prefect gives its temporary server 20 s by default
                        # (PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS): on a
                        # slow or busy machine the first, migrating start misses it.
                        report[f"fresh_{label}_first_command_failure"] = str(exc)
                        say(f"  {exc}; measuring again with the startup timeouts at 90 s")
                        shutil.rmtree(base / f"fresh-{label}", ignore_errors=True)
                        env = dict(env, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="90", HEDGEFLOW_SERVER_TIMEOUT="90")
                        try:
                            first = _phases(env, base)
                        except MeasurementFailed as again:
                            report[f"fresh_{label}_first_command_failure_at_90s"] = str(again)
                            first = {}
                    if first:
                        report[f"fresh_{label}_first_command"] = {k: round(v, 3) for k, v in first.items()}
                    if mode == "auto":
                        _stop_server(env)

            say("background server ...")
            url, cold = _start_server(auto)
            report["server_cold_start_s"] = round(cold, 3)
            _, warm = _start_server(auto)
            report["server_reuse_resolve_s"] = round(warm, 3)
            with_server = dict(auto, PREFECT_API_URL=url)  # what resolve_api puts in the CLI's environment

            for label, env in (("server", with_server), ("ephemeral", ephemeral)):
                say(f"analyze {TICKERS}, {label} ...")
                _wall(_hedgeflow() + ["analyze", "--tickers", TICKERS], env)  # warm-up: caches, database
                walls = [_wall(_hedgeflow() + ["analyze", "--tickers", TICKERS], env) for _ in range(repeat)]
                report[f"analyze_{label}_s"] = _times(walls)
                phase_env = auto if label == "server" else ephemeral  # the child resolves the API itself
                report[f"analyze_{label}_phases_s"] = _median([_phases(phase_env, base) for _ in range(repeat)])

            say("imports ...")
            report["imports_flows_hedge_fund"] = _importtime(ephemeral)
        finally:
            _stop_server(auto)
    with contextlib.suppress(OSError):
        report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _table(report: dict[str, object]) -> str:
    lines = [f"python {report['python']}, {report['cpus']} cpus, load {report.get('load_average_at_start')}"]
    for key in ("help_s", "analysts_s", "analyze_server_s", "analyze_ephemeral_s"):
        value = report[key]
        assert isinstance(value, dict)
        lines.append(f"{key[:-2]:<22} median {value['median']:6.2f} s  (min {value['min']:.2f}, max {value['max']:.2f})")
    lines.append(f"{'server cold start':<22} {report['server_cold_start_s']:6.2f} s; reuse {report['server_reuse_resolve_s']:.2f} s")
    phase_keys = [k for k in ("analyze_server_phases_s", "analyze_ephemeral_phases_s",
                              "fresh_server_first_command", "fresh_ephemeral_first_command") if k in report]  # fmt: skip
    lines.append("")
    lines.append(f"{'phase (s)':<20}" + "".join(f"{k.replace('_phases_s', '').replace('_first_command', ' 1st'):>18}" for k in phase_keys))
    for phase in (*PHASES, "total"):
        row = []
        for key in phase_keys:
            phases = report[key]
            assert isinstance(phases, dict)
            row.append(f"{phases.get(phase, 0.0):>18.2f}")
        lines.append(f"{phase:<20}" + "".join(row))
    lines.extend(f"{key}: {value}" for key, value in report.items() if "failure" in key)
    imports = report["imports_flows_hedge_fund"]
    assert isinstance(imports, dict)
    lines.append("")
    lines.append(f"import flows.hedge_fund (importtime self-time sum {imports['total_s']:.2f} s), by package:")
    lines.extend(f"  {name:<28} {secs:6.3f}" for name, secs in imports["by_package_s"].items())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (default 3)")
    parser.add_argument("--skip-fresh", action="store_true", help="skip the fresh-machine first commands")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    report = measure(max(1, args.repeat), fresh=not args.skip_fresh, keep=args.keep)
    print(json.dumps(report, indent=2) if args.json else _table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
