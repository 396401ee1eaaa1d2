"""The background Prefect server process: its files, health probes, start and stop.

Used by :mod:`deployments.local_server`, which decides when to start or reuse
it. Never imports Prefect and does no work at import time.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "DEFAULT_PORT", "EPHEMERAL_TIMEOUT", "LOOPBACK", "PORT_ENV", "SERVER_DATABASE_ENV", "SERVER_SETTINGS", "TIMEOUT_ENV",
    "ServerStartError",
    "alive", "api_url", "clear_files", "configured_port", "healthy", "lock", "log_file", "looks_like_our_server",
    "pid_file", "port_file", "reachable", "read_int", "recorded", "server_database_url", "start_locked", "start_timeout",
    "stop_ephemeral_servers", "terminate",
]  # fmt: skip

TIMEOUT_ENV = "HEDGEFLOW_SERVER_TIMEOUT"
PORT_ENV = "HEDGEFLOW_SERVER_PORT"
SERVER_DATABASE_ENV = "HEDGEFLOW_SERVER_DATABASE"
DEFAULT_PORT = 4200  # Prefect's own default, so bookmarks and `prefect` commands find it
DEFAULT_START_TIMEOUT = 60.0  # a live server still migrating beats falling back to ephemeral
PROBE_TIMEOUT_LOCAL = 0.5
PROBE_TIMEOUT_REMOTE = 2.0
LOOPBACK = "127.0.0.1"

# Servers started by this very process, so they can be reaped (no zombies
# when a test or a long-lived process starts and stops one).
_children: dict[int, subprocess.Popen[bytes]] = {}


class ServerStartError(RuntimeError):
    """The background server could not be started; the message says why in a few words."""


# --------------------------------------------------------------------------- paths


def server_dir() -> Path:
    from hedgeflow.paths import home

    path = home() / "server"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pid_file() -> Path:
    return server_dir() / "server.pid"


def port_file() -> Path:
    return server_dir() / "server.port"


def log_file() -> Path:
    return server_dir() / "server.log"


def _prefect_home() -> Path:
    return server_dir() / "prefect"


def read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def clear_files() -> None:
    for path in (pid_file(), port_file()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """One process at a time decides, starts or stops the server."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; a race costs a second server at worst.
        yield
        return
    with open(server_dir() / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- probes


def _is_loopback(url: str) -> bool:
    host = (urllib.parse.urlsplit(url).hostname or "").lower()
    return host in {"localhost", "127.0.0.1", "::1"} or host.startswith("127.")


def _get(url: str, timeout: float) -> int | None:
    """HTTP status of GET ``url``, or None when nothing answers in time."""
    handlers: list[urllib.request.BaseHandler] = []
    if _is_loopback(url):  # never send a loopback probe through an HTTP proxy
        handlers.append(urllib.request.ProxyHandler({}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def reachable(api_url: str) -> bool:
    """Any HTTP answer from ``<api_url>/health`` (a 401 from a guarded server still answers)."""
    timeout = PROBE_TIMEOUT_LOCAL if _is_loopback(api_url) else PROBE_TIMEOUT_REMOTE
    status = _get(api_url.rstrip("/") + "/health", timeout)
    return status is not None and status < 500


def healthy(port: int, timeout: float = PROBE_TIMEOUT_LOCAL) -> bool:
    return _get(f"http://{LOOPBACK}:{port}/api/health", timeout) == 200


def api_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}/api"


def alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: not ours to use
        return False
    except OSError:
        return False
    return True


def looks_like_our_server(pid: int) -> bool:
    """Guard against a recycled pid: on Linux the command line must name prefect."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc (macOS, Windows): the health check on our port decides
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"prefect" in text and b"server" in text


# --------------------------------------------------------------------------- lifecycle


def recorded() -> tuple[int, int] | None:
    """(pid, port) of the server Hedgeflow started before, if it is still running as ours."""
    pid, port = read_int(pid_file()), read_int(port_file())
    if pid is None or port is None:
        return None
    if not alive(pid) or not looks_like_our_server(pid):
        return None
    return pid, port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds it
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def configured_port() -> int | None:
    """``HEDGEFLOW_SERVER_PORT`` as a number (0: any free port), or None when unset; ValueError when not a port."""
    raw = (os.environ.get(PORT_ENV) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"{PORT_ENV}={raw!r} is not a port number; use 1-65535, or 0 for any free port")
    return int(raw)


def _choose_port() -> tuple[int, bool]:
    """(port, fixed): the configured port, else 4200 when free, else any free port."""
    try:
        wanted = configured_port()
    except ValueError as exc:
        raise ServerStartError(str(exc)) from None
    if wanted is None:
        return (DEFAULT_PORT, False) if _port_free(DEFAULT_PORT) else (_free_port(), False)
    if wanted == 0:
        return _free_port(), False
    if not _port_free(wanted):
        raise ServerStartError(f"port {wanted} is in use; set {PORT_ENV} to another port, or 0 for any free one")
    return wanted, True


def start_timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_START_TIMEOUT)
    except ValueError:
        return DEFAULT_START_TIMEOUT


# Prefect's server writes every task-run state event the client sends in its own SQLite transaction
# (the task-run recorder's batch size is 1) and events in batches of 20. A run of two tickers sends
# about 140 task-run states and 200 events; ten runs at once made the writers collide ("database is
# locked": 503s and the client's back-off). Batched, the same rows take a few transactions a second.
# A user's own value wins (setdefault). docs/startup.md has the measurements.
SERVER_SETTINGS = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",  # whole seconds (Prefect takes int())
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "500",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "2",
}


def server_database_url() -> str | None:
    """Prefect's database for a new server: None for its own SQLite file (default), or, with
    ``HEDGEFLOW_SERVER_DATABASE=postgresql``, Hedgeflow's PostgreSQL database (``HEDGEFLOW_DATABASE_URL``,
    driver asyncpg); Prefect's tables do not share a name with Hedgeflow's. Never says the URL."""
    choice = (os.environ.get(SERVER_DATABASE_ENV) or "sqlite").strip().lower()
    if choice == "sqlite":
        return None
    if choice != "postgresql":
        raise ServerStartError(f"{SERVER_DATABASE_ENV}={choice!r} is not a choice; use sqlite (default) or postgresql")
    scheme, sep, rest = (os.environ.get("HEDGEFLOW_DATABASE_URL") or "").partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres"):
        raise ServerStartError(f"{SERVER_DATABASE_ENV}=postgresql needs HEDGEFLOW_DATABASE_URL to be a postgresql:// URL")
    return f"postgresql+asyncpg://{rest}"


def _server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API_")}
    for key, value in SERVER_SETTINGS.items():
        env.setdefault(key, value)
    database = server_database_url()
    if database is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database
    env.update(
        PREFECT_HOME=str(_prefect_home()),  # its own profiles, SQLite database and UI build
        PREFECT_PROFILES_PATH=str(_prefect_home() / "profiles.toml"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL=os.environ.get("PREFECT_SERVER_LOGGING_LEVEL", "WARNING"),
        PREFECT_CLI_PROMPT="false",
        PREFECT_CLI_COLORS="false",
    )
    env.pop("PREFECT_PROFILE", None)
    return env


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _spawn(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "prefect", "server", "start",
        "--host", LOOPBACK, "--port", str(port), "--analytics-off",
    ]  # fmt: skip
    _prefect_home().mkdir(parents=True, exist_ok=True)
    log = open(log_file(), "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting on port {port}\n".encode())
        log.flush()
        detach: dict[str, object]
        if os.name == "nt":
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
            detach = {"creationflags": flags}
        else:
            detach = {"start_new_session": True}
        process: subprocess.Popen[bytes] = subprocess.Popen(  # type: ignore[call-overload]
            command,
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(server_dir()),
            close_fds=True,
            **detach,
        )
    finally:
        log.close()
    _children[process.pid] = process
    return process


def start_locked(timeout: float) -> tuple[int, int]:
    """Start a server (the lock is held) and wait until it is healthy: (pid, port)."""
    try:
        import importlib.util

        if importlib.util.find_spec("prefect") is None:
            raise ServerStartError("prefect is not installed")
    except ValueError:
        pass
    deadline = time.monotonic() + timeout
    why = "no free port"
    for _attempt in range(2):  # a port taken between choosing and binding: once more
        port, fixed = _choose_port()
        process = _spawn(port)
        pid_file().write_text(str(process.pid))
        port_file().write_text(str(port))
        while time.monotonic() < deadline:
            if healthy(port):
                return process.pid, port
            code = process.poll()
            if code is not None:
                _children.pop(process.pid, None)
                clear_files()
                detail = _tail(log_file(), 1)
                why = f"server exited with code {code}" + (f": {detail}" if detail else "")
                break
            time.sleep(0.1)
        else:
            terminate(process.pid)
            clear_files()
            raise ServerStartError(f"no answer within {timeout:g} s; see {log_file()}")
        if fixed or "address already in use" not in why.lower():
            break
    raise ServerStartError(why)


def terminate(pid: int, grace: float = 10.0) -> None:
    """Stop the server's process group: TERM, wait, then KILL; reap it if it is our child."""

    def signal_group(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if os.name == "nt":
                os.kill(pid, sig)
            else:
                os.killpg(pid, sig)  # start_new_session: the group id is the pid

    signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid) or os.name != "nt":
        # KILL whatever is left in the group (also workers the server may have forked).
        signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    else:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and alive(pid):
            time.sleep(0.05)



# --------------------------------------------------------------------------- Prefect's ephemeral server

EPHEMERAL_TIMEOUT = "Timed out while attempting to connect to ephemeral Prefect API server"  # Prefect's message
EPHEMERAL_APP = b"prefect.server.api.server:create_app"  # on the command line of Prefect's temporary server


def _ephemeral_children() -> list[int]:
    """Pids of this process's children that run Prefect's temporary server (Linux: /proc; else none)."""
    me = str(os.getpid())
    found: list[int] = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            ppid = (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
            cmdline = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if ppid == me and EPHEMERAL_APP in cmdline:
            found.append(int(entry.name))
    return found


def stop_ephemeral_servers(grace: float = 5.0) -> None:
    """Stop every temporary server Prefect started in this process, also those it lost track of.

    When its server misses the startup timeout Prefect raises but leaves the
    half-started uvicorn process running, and a second start (the next API
    client) replaces its handle with a new process: the first is orphaned,
    holding the caller's stderr open. ``SubprocessASGIServer.stop`` stops the
    one it knows; the others are found among this process's children by their
    command line, terminated and reaped. Does not import Prefect.
    """
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is not None:
        for server in list(server_module.SubprocessASGIServer._instances.values()):
            with contextlib.suppress(Exception):
                server.stop()
    pids = _ephemeral_children()
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        while _reap(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _reap(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def _reap(pid: int) -> bool:
    """Reap ``pid`` if it has exited; True while it still runs."""
    try:
        done, _status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # reaped already (by subprocess's own bookkeeping)
        return False
    except OSError:
        return False
    return done == 0
