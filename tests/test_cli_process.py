"""The ``hedgeflow`` process as git users expect it: quiet ends on a closed pipe and on Ctrl-C,
``history --run`` and ``--status``, and on a terminal the UI address and the flow run's URL."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deployments.cli import main
from hedgeflow.store import database_url, get_engine, persist_run
from tests.flowkit import on_session_server
from tests.test_store import make_result

ROOT = Path(__file__).resolve().parents[1]
HEDGEFLOW = str(Path(sys.executable).with_name("hedgeflow"))
T0 = dt.datetime(2025, 6, 2, 14, 30, tzinfo=dt.timezone.utc)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**env, "HEDGEFLOW_HOME": str(home), "HEDGEFLOW_SERVER": "ephemeral", **extra}


def _store_runs(count: int) -> list[str]:
    """``count`` runs, one minute apart, every third one failed; their ids, oldest first."""
    engine = get_engine(database_url())
    ids = []
    for n in range(count):
        result = make_result(run_id=f"{n:04d}-run", started_at=T0 + dt.timedelta(minutes=n))
        if n % 3 == 0:
            result = result.model_copy(update={"status": "failed"})
        persist_run(engine, result)
        ids.append(result.run_id)
    return ids


def test_history_run_shows_one_run_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    _store_runs(2)
    assert main(["history", "--run", "0001"]) == 0  # the start of an id is enough, as with git
    out = capsys.readouterr().out
    assert out.startswith("run      0001-run\nstatus   degraded (2 degraded signals)\n")
    assert "window   2025-03-01 to 2025-05-30" in out
    assert "AAPL    warren_buffett  bullish  72.5" in out  # every signal, with its reasoning below
    assert "AAPL technicals: momentum -0.4" in out and "breaker open" in out
    assert "TSLA: no prices in window" in out
    assert main(["history", "--run", "0001-run", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["run_id"] == "0001-run" and len(record["signals"]) == 4


def test_history_run_prefix_matching_two_runs_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _store_runs(2)
    assert main(["history", "--run", "000"]) == 2
    assert capsys.readouterr().err.strip() == (
        "hedgeflow: error: run id '000' matches 0000-run, 0001-run; give more of it"
    )


def test_history_filters_by_status(capsys: pytest.CaptureFixture[str]) -> None:
    _store_runs(5)  # runs 0 and 3 failed
    assert main(["history", "--status", "FAILED", "--json"]) == 0
    assert [r["run_id"] for r in json.loads(capsys.readouterr().out)] == ["0003-run", "0000-run"]
    assert main(["history", "--status", "partial"]) == 0
    assert capsys.readouterr().out.startswith("No runs recorded with status partial in sqlite:")


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly_with_141(tmp_path: Path) -> None:
    os.environ["HEDGEFLOW_HOME"] = str(tmp_path)  # the autouse fixture restores it
    _store_runs(60)  # ~170 kB of JSON: more than a pipe holds, so the writer meets the closed end
    reader = subprocess.Popen(
        [HEDGEFLOW, "history", "--limit", "100", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=_env(tmp_path),
    )  # fmt: skip
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.readline().strip() == b"["  # what `| head -1` reads
    reader.stdout.close()
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b""


@pytest.mark.slow
def test_ctrl_c_during_a_model_call_ends_the_run_at_once_and_quietly_with_130(
    tmp_path: Path, prefect_server: None
) -> None:
    # A model server that accepts connections and never answers, and a model timeout of 10 minutes: Ctrl-C
    # comes once the first call is in flight, so a process that waited for its calls to end would be killed
    # by communicate's timeout, and one that left its SDK clients to the interpreter's teardown would print
    # "Exception ignored in ... __del__" (both were so before the model-call loop's stop() and close at exit).
    # The run uses the session's Prefect server: an ephemeral one shares the run's stderr, and its own
    # shutdown sometimes logs a cancelled database rollback there (Prefect's server, not this process)
    with socket.create_server(("127.0.0.1", 0), backlog=128) as silent:
        silent.settimeout(120)
        model = f"openai-compatible:silent@http://127.0.0.1:{silent.getsockname()[1]}/v1"
        run = subprocess.Popen(
            [HEDGEFLOW, "analyze", "--tickers", "AAPL,NVDA", "--model", model],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
            env=_env(tmp_path, HEDGEFLOW_MODEL_TIMEOUT_S="600", **on_session_server()),
        )  # fmt: skip
        connection, _ = silent.accept()
        run.send_signal(signal.SIGINT)
        try:
            _out, err = run.communicate(timeout=60)
        finally:
            run.kill()
            connection.close()
    assert run.returncode == 130, err.decode()[-2000:]
    assert err.decode().strip().splitlines()[-1:] == ["hedgeflow: interrupted"]
    assert b"Traceback" not in err and b"Exception ignored" not in err


def _read_terminal(master: int, process: subprocess.Popen[bytes], timeout: float) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_on_a_terminal_the_ui_and_the_flow_run_url_are_printed(tmp_path: Path) -> None:
    env = _env(tmp_path, HEDGEFLOW_SERVER="auto", HEDGEFLOW_SERVER_PORT="0", HEDGEFLOW_SERVER_TIMEOUT="180",
               PREFECT_HOME=str(tmp_path / "prefect-home"), PREFECT_PROFILES_PATH=str(tmp_path / "profiles.toml"))
    env.pop("DO_NOT_TRACK", None)
    master, slave = pty.openpty()
    try:
        run = subprocess.Popen([HEDGEFLOW, "analyze", "--tickers", "AAPL", "--analysts", "technicals"],
                               stdout=subprocess.PIPE, stderr=slave, cwd=ROOT, env=env)
        os.close(slave)
        terminal = _read_terminal(master, run, timeout=360)
        out, _ = run.communicate(timeout=60)
    finally:
        os.close(master)
        subprocess.run([sys.executable, "-c", "from deployments.local_server import server_stop; server_stop()"],
                       cwd=ROOT, env=env, check=False)
    assert run.returncode == 0, terminal[-2000:]
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal)  # the live view's cursor moves and colours
    lines = [line.strip() for line in plain.replace("\r", "\n").splitlines()]
    ui = next(line for line in lines if line.startswith("hedgeflow: Prefect UI: http://127.0.0.1:"))
    address = ui.removeprefix("hedgeflow: Prefect UI: ")
    run_url = next(line for line in lines if line.startswith("hedgeflow: flow run: "))
    assert run_url.startswith(f"hedgeflow: flow run: {address}/runs/flow-run/")
    assert "telemetry" not in terminal.lower()  # no first-run notice: analytics are off
    assert "Decisions" in out.decode()  # stdout is a pipe: plain text
