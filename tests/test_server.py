"""The background Prefect server the CLI starts once and reuses (deployments.local_server).

Tests marked slow start a real ``prefect server start``; every test leaves no
server behind (the fixture stops it and checks /proc).
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deployments import local_server as server
from deployments import server_process
from hedgeflow.paths import home

ROOT = Path(__file__).resolve().parents[1]


def _servers_under(directory: Path) -> list[int]:
    """Pids of live processes started in ``directory``'s server folder (the server's cwd)."""
    proc = Path("/proc")
    found: list[int] = []
    for entry in proc.iterdir() if proc.exists() else []:
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
            status = (entry / "status").read_text()
        except OSError:
            continue
        if "State:\tZ" in status:
            continue
        if cwd == directory / "server" or directory / "server" in cwd.parents:
            found.append(int(entry.name))
    return found


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" in status.read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def managed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Auto mode, no PREFECT_API_URL, no user profile; no server survives the test."""
    monkeypatch.setenv(server.MODE_ENV, "auto")
    monkeypatch.setenv(server.PORT_ENV, "0")  # any free port: tests never take 4200
    monkeypatch.setenv("PREFECT_API_URL", "placeholder")  # recorded, so the teardown restores the original
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "no-profiles.toml"))
    monkeypatch.delenv("PREFECT_PROFILE", raising=False)
    hedgeflow_home = home()
    try:
        yield hedgeflow_home
    finally:
        server.server_stop()
        assert _servers_under(hedgeflow_home) == [], "a prefect server was left running"


def _notices() -> tuple[list[str], Callable[[str], None]]:
    lines: list[str] = []
    return lines, lines.append


@pytest.mark.slow
def test_starts_once_reuses_and_stops_clean(managed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = _free_port()
    monkeypatch.setenv(server.PORT_ENV, str(fixed))  # a port the user fixed is the port used
    lines, announce = _notices()
    url = server.resolve_api(announce)
    assert url == f"http://127.0.0.1:{fixed}/api"
    assert os.environ["PREFECT_API_URL"] == url
    assert len(lines) == 1 and lines[0].startswith("hedgeflow: starting a local Prefect server")
    pid = int((managed / "server" / "server.pid").read_text())
    port = int((managed / "server" / "server.port").read_text())
    assert url == f"http://127.0.0.1:{port}/api"
    with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
        assert response.status == 200
    assert _servers_under(managed) == [pid]
    assert (managed / "server" / "prefect" / "prefect.db").exists()  # its own SQLite database
    environ = dict(item.split("=", 1) for item in (Path(f"/proc/{pid}/environ").read_text().split("\0")) if "=" in item)
    for key, value in server_process.SERVER_SETTINGS.items():  # started with the batched writers
        assert environ[key] == value

    # The next command reuses it: same port, same process, nothing new started.
    os.environ.pop("PREFECT_API_URL")
    assert server.resolve_api(announce) == url
    assert len(lines) == 1  # nothing more to say
    assert int((managed / "server" / "server.pid").read_text()) == pid
    assert _servers_under(managed) == [pid]
    assert server.server_status().startswith(f"running: pid {pid}")
    assert server.server_start().startswith("already running")

    assert server.server_stop() is True
    assert _gone(pid)
    assert not (managed / "server" / "server.pid").exists()
    assert not (managed / "server" / "server.port").exists()
    assert server.server_status().startswith("not running")
    assert server.server_stop() is False


@pytest.mark.slow
def test_a_stale_pid_file_is_replaced_by_a_new_server(managed: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (managed / "server").mkdir(exist_ok=True)
    (managed / "server" / "server.pid").write_text(str(dead.pid))
    (managed / "server" / "server.port").write_text(str(_free_port()))

    lines, announce = _notices()
    url = server.resolve_api(announce)
    assert url is not None and len(lines) == 1
    pid = int((managed / "server" / "server.pid").read_text())
    assert pid != dead.pid
    assert url == f"http://127.0.0.1:{int((managed / 'server' / 'server.port').read_text())}/api"
    assert _servers_under(managed) == [pid]


@pytest.mark.slow
def test_an_unreachable_api_url_gets_one_line_and_the_local_server(
    managed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead_url = f"http://127.0.0.1:{_free_port()}/api"
    monkeypatch.setenv("PREFECT_API_URL", dead_url)
    lines, announce = _notices()
    url = server.resolve_api(announce)
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert dead_url in lines[0] and "does not answer" in lines[0]
    assert lines[1].startswith("hedgeflow: starting a local Prefect server")
    assert url is not None and url != dead_url
    assert os.environ["PREFECT_API_URL"] == url
    assert len(_servers_under(managed)) == 1


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # the stdlib's name
        body = json.dumps(True).encode()
        self.send_response(200 if self.path == "/api/health" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_reachable_api_url_is_used_and_nothing_starts(managed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/api"
        monkeypatch.setenv("PREFECT_API_URL", url)
        lines, announce = _notices()
        assert server.resolve_api(announce) == url
        assert lines == []
        assert not (managed / "server" / "server.pid").exists()
        assert _servers_under(managed) == []
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_profile_api_url_counts_as_configured(managed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    dead_url = f"http://127.0.0.1:{_free_port()}/api"
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'active = "mine"\n[profiles.mine]\nPREFECT_API_URL = "{dead_url}"\n')
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(profiles))
    monkeypatch.setattr(server, "_ensure_server", lambda announce: (_ for _ in ()).throw(server.ServerStartError("test")))
    lines, announce = _notices()
    assert server.resolve_api(announce) is None
    assert len(lines) == 2 and dead_url in lines[0] and "ephemeral mode" in lines[1]
    # Ephemeral mode must win over the profile's URL: Prefect reads an empty value as none.
    assert os.environ["PREFECT_API_URL"] == ""


def test_ephemeral_mode_returns_none_and_starts_nothing(managed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(server.MODE_ENV, "ephemeral")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")
    lines, announce = _notices()
    assert server.resolve_api(announce) is None
    assert "PREFECT_API_URL" not in os.environ
    assert lines == []
    assert not (managed / "server" / "server.pid").exists()
    assert _servers_under(managed) == []


def test_off_mode_leaves_prefect_configuration_alone(managed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(server.MODE_ENV, "off")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:1/api")  # dead, and not even probed
    lines, announce = _notices()
    assert server.resolve_api(announce) == "http://127.0.0.1:1/api"
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:1/api"
    assert lines == []
    monkeypatch.delenv("PREFECT_API_URL")
    assert server.resolve_api(announce) is None
    assert _servers_under(managed) == []


def _fake_python(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-python"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_a_server_that_dies_means_ephemeral_mode_with_one_line(
    managed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", _fake_python(tmp_path, "echo 'boom: no database' >&2; exit 3"))
    lines, announce = _notices()
    assert server.resolve_api(announce) is None
    assert "PREFECT_API_URL" not in os.environ
    assert len(lines) == 2
    lines.pop(0)  # "starting a local Prefect server ..."
    assert lines[0].startswith("hedgeflow: could not start a local Prefect server (server exited with code 3")
    assert "boom: no database" in lines[0] and lines[0].endswith("; running in ephemeral mode")
    assert not (managed / "server" / "server.pid").exists()


def test_a_server_that_never_answers_is_stopped_after_the_timeout(
    managed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "executable", _fake_python(tmp_path, "exec sleep 60"))
    monkeypatch.setenv(server.TIMEOUT_ENV, "0.5")
    lines, announce = _notices()
    assert server.resolve_api(announce) is None
    assert len(lines) == 2 and "no answer within 0.5 s" in lines[1] and "ephemeral mode" in lines[1]
    assert not (managed / "server" / "server.pid").exists()
    assert _servers_under(managed) == []


def test_server_command_status_and_stop_without_a_server(managed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert server.server_command("status") == 1
    assert server.server_command("stop") == 0
    assert server.server_command("restart") == 2
    out, err = capsys.readouterr()
    assert out.splitlines() == ["not running (the next `hedgeflow analyze` starts it)", "not running"]
    assert "unknown server action 'restart'" in err


def test_importing_the_module_imports_no_prefect_and_does_no_work(tmp_path: Path) -> None:
    env = dict(os.environ, HEDGEFLOW_HOME=str(tmp_path / "fresh"))
    code = "import sys, deployments.local_server; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert not (tmp_path / "fresh").exists()


def test_the_port_is_4200_when_free_else_any_free_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments import server_process

    monkeypatch.delenv(server.PORT_ENV, raising=False)
    default = _free_port()  # stands in for 4200, which tests never take
    monkeypatch.setattr(server_process, "DEFAULT_PORT", default)
    assert server_process._choose_port() == (default, False)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", default))
        busy.listen()
        port, fixed = server_process._choose_port()
        assert port != default and not fixed


def test_a_fixed_port_in_use_or_not_a_port_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments import server_process

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setenv(server.PORT_ENV, str(taken))
        with pytest.raises(server.ServerStartError, match=f"port {taken} is in use; set HEDGEFLOW_SERVER_PORT"):
            server_process._choose_port()
    monkeypatch.setenv(server.PORT_ENV, "70000")
    with pytest.raises(ValueError, match="not a port number"):
        server.configured_port()
    monkeypatch.setenv(server.PORT_ENV, "0")
    assert server.configured_port() == 0


def test_the_ui_address_is_the_api_url_without_api() -> None:
    assert server.ui_url("http://127.0.0.1:4200/api") == "http://127.0.0.1:4200"
    assert server.ui_url("https://prefect.example/api/") == "https://prefect.example"


def _ephemeral_servers_in(directory: Path) -> list[int]:
    """Live processes running Prefect's temporary server whose working directory is ``directory``."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if b"prefect.server.api.server:create_app" in cmdline and cwd == directory and not _gone(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.timeout(420)
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds leftover servers through /proc")
def test_a_temporary_server_that_misses_its_startup_timeout_is_one_line_and_stopped(tmp_path: Path) -> None:
    """Prefect's ephemeral server given no time to start: one line naming the fixes, exit 1, and no
    half-started server left behind holding our stderr (stdout and stderr are files, not pipes, so a
    leftover cannot make this test wait for an end of file that never comes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "HEDGEFLOW_"))}
    env.update(HEDGEFLOW_HOME=str(tmp_path / "home"), PREFECT_HOME=str(tmp_path / "prefect"),
               HEDGEFLOW_SERVER="ephemeral", PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    err = tmp_path / "stderr.txt"
    command = [str(Path(sys.executable).with_name("hedgeflow")), "analyze", "--tickers", "AAPL", "--analysts", "technicals"]
    with open(tmp_path / "stdout.txt", "wb") as out_file, open(err, "wb") as err_file:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out_file, stderr=err_file)
        try:
            code = process.wait(timeout=360)
        finally:
            process.kill()
            process.wait()
            left = _ephemeral_servers_in(tmp_path)
            for pid in left:  # never leave one behind, even when the test fails
                os.kill(pid, 9)
    assert left == [], "Prefect's temporary server was left running"
    stderr = err.read_text()
    assert code == 1, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert "did not start within 0 s" in lines[0]
    assert "hedgeflow server start" in lines[0] and "PREFECT_API_URL" in lines[0]


def test_the_server_batches_its_writes_and_a_users_setting_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Task-run states and events written in batches (Prefect's defaults: 1 and 20 a transaction), flushed
    at least every 2 s; PREFECT_* of the caller reach the server, except the client's PREFECT_API_*."""
    for key in server_process.SERVER_SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PREFECT_API_URL", "http://elsewhere:4200/api")
    env = server_process._server_env()
    assert int(env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE"]) > 1
    assert int(env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE"]) > 20
    assert float(env["PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL"]) >= 1  # Prefect takes int(): 0 spins
    assert float(env["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL"]) <= 2
    assert "PREFECT_API_URL" not in env
    monkeypatch.setenv("PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE", "20")
    assert server_process._server_env()["PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE"] == "20"


def test_postgresql_for_the_server_is_opt_in_and_uses_hedgeflows_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(server_process.SERVER_DATABASE_ENV, raising=False)
    monkeypatch.delenv("PREFECT_SERVER_DATABASE_CONNECTION_URL", raising=False)
    monkeypatch.setenv("HEDGEFLOW_DATABASE_URL", "postgresql+psycopg://postgres:s3cret@127.0.0.1:5432/test")
    assert server_process.server_database_url() is None  # PostgreSQL configured, but not asked for: SQLite
    assert "PREFECT_SERVER_DATABASE_CONNECTION_URL" not in server_process._server_env()
    monkeypatch.setenv(server_process.SERVER_DATABASE_ENV, "PostgreSQL")
    url = "postgresql+asyncpg://postgres:s3cret@127.0.0.1:5432/test"  # Prefect's server needs the asyncpg driver
    assert server_process.server_database_url() == url
    assert server_process._server_env()["PREFECT_SERVER_DATABASE_CONNECTION_URL"] == url
    monkeypatch.setenv("HEDGEFLOW_DATABASE_URL", "sqlite:////tmp/hedgeflow.db")
    with pytest.raises(server.ServerStartError, match="needs HEDGEFLOW_DATABASE_URL to be a postgresql:// URL"):
        server_process.server_database_url()
    monkeypatch.setenv(server_process.SERVER_DATABASE_ENV, "mysql")
    with pytest.raises(server.ServerStartError, match="use sqlite \\(default\\) or postgresql") as caught:
        server_process.server_database_url()
    assert "s3cret" not in str(caught.value)
