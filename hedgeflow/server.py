"""Which Prefect API the CLI talks to, decided before Prefect is imported.

Prefect's ephemeral mode starts (and migrates, and stops) a temporary API
server inside every command: seconds of every run. Instead Hedgeflow keeps one
local ``prefect server start`` running in the background, started by the
first command that needs it and reused by every later one; its runs stay
visible in the Prefect UI.

:func:`resolve_api` picks, in order:

a. ``PREFECT_API_URL`` (environment, else the active Prefect profile) when it
   answers; set but unreachable: a one-line notice, then b.
b. the server Hedgeflow started before (pid and port files under
   ``home()/server/``) when it is alive and healthy;
c. a new background server on a free loopback port (own ``PREFECT_HOME``, so
   its own SQLite database; analytics off), announced in one line and
   waited for up to ``HEDGEFLOW_SERVER_TIMEOUT`` seconds (default 60: the
   first start creates the database, 7-22 s measured; falling back to
   ephemeral mode would redo that work and Prefect gives it only 20 s);
d. when that fails: a one-line notice and Prefect's ephemeral mode.

``HEDGEFLOW_SERVER`` chooses the policy: ``auto`` (default, the above),
``ephemeral`` (never start or reuse a server; ``PREFECT_API_URL`` is removed
from this process, so Prefect runs its temporary in-process server) or
``off`` (Hedgeflow does nothing: Prefect's own configuration decides).

This module never imports Prefect and does no work at import time.
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
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "MODE_ENV",
    "TIMEOUT_ENV",
    "ServerStartError",
    "resolve_api",
    "server_command",
    "server_start",
    "server_status",
    "server_stop",
]

MODE_ENV = "HEDGEFLOW_SERVER"
TIMEOUT_ENV = "HEDGEFLOW_SERVER_TIMEOUT"
MODES = ("auto", "ephemeral", "off")
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


def _dir() -> Path:
    from hedgeflow.paths import home

    path = home() / "server"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pid_file() -> Path:
    return _dir() / "server.pid"


def _port_file() -> Path:
    return _dir() / "server.port"


def _log_file() -> Path:
    return _dir() / "server.log"


def _prefect_home() -> Path:
    return _dir() / "prefect"


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _clear_files() -> None:
    for path in (_pid_file(), _port_file()):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One process at a time decides, starts or stops the server."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; a race costs a second server at worst.
        yield
        return
    with open(_dir() / "server.lock", "w") as handle:
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


def _reachable(api_url: str) -> bool:
    """Any HTTP answer from ``<api_url>/health`` (a 401 from a guarded server still answers)."""
    timeout = PROBE_TIMEOUT_LOCAL if _is_loopback(api_url) else PROBE_TIMEOUT_REMOTE
    status = _get(api_url.rstrip("/") + "/health", timeout)
    return status is not None and status < 500


def _healthy(port: int, timeout: float = PROBE_TIMEOUT_LOCAL) -> bool:
    return _get(f"http://{LOOPBACK}:{port}/api/health", timeout) == 200


def _api_url(port: int) -> str:
    return f"http://{LOOPBACK}:{port}/api"


def _alive(pid: int) -> bool:
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


def _looks_like_our_server(pid: int) -> bool:
    """Guard against a recycled pid: on Linux the command line must name prefect."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc (macOS, Windows): the health check on our port decides
    try:
        text = cmdline.read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"prefect" in text and b"server" in text


def _profile_api_url() -> str | None:
    """PREFECT_API_URL from the active Prefect profile, read without importing Prefect."""
    import tomllib

    prefect_home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    path = Path(os.environ.get("PREFECT_PROFILES_PATH") or prefect_home / "profiles.toml").expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, ValueError):
        return None
    name = os.environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    profile = (data.get("profiles") or {}).get(name) or {}
    url = profile.get("PREFECT_API_URL")
    return str(url) if url else None


# --------------------------------------------------------------------------- lifecycle


def _recorded() -> tuple[int, int] | None:
    """(pid, port) of the server Hedgeflow started before, if it is still running as ours."""
    pid, port = _read_int(_pid_file()), _read_int(_port_file())
    if pid is None or port is None:
        return None
    if not _alive(pid) or not _looks_like_our_server(pid):
        return None
    return pid, port


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_START_TIMEOUT)
    except ValueError:
        return DEFAULT_START_TIMEOUT


def _server_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_API_")}
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
    log = open(_log_file(), "ab")  # noqa: SIM115 - handed to the child, closed below
    try:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting on port {port}\n".encode())
        log.flush()
        detach: dict[str, object]
        if os.name == "nt":
            flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined]
            detach = {"creationflags": flags}
        else:
            detach = {"start_new_session": True}
        process = subprocess.Popen(  # type: ignore[call-overload]
            command,
            env=_server_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(_dir()),
            close_fds=True,
            **detach,
        )
    finally:
        log.close()
    _children[process.pid] = process
    return process


def _start_locked(timeout: float) -> tuple[int, int]:
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
        port = _free_port()
        process = _spawn(port)
        _pid_file().write_text(str(process.pid))
        _port_file().write_text(str(port))
        while time.monotonic() < deadline:
            if _healthy(port):
                return process.pid, port
            code = process.poll()
            if code is not None:
                _children.pop(process.pid, None)
                _clear_files()
                detail = _tail(_log_file(), 1)
                why = f"server exited with code {code}" + (f": {detail}" if detail else "")
                break
            time.sleep(0.1)
        else:
            _terminate(process.pid)
            _clear_files()
            raise ServerStartError(f"no answer within {timeout:g} s; see {_log_file()}")
        if "address already in use" not in why.lower():
            break
    raise ServerStartError(why)


def _terminate(pid: int, grace: float = 10.0) -> None:
    """Stop the server's process group: TERM, wait, then KILL; reap it if it is our child."""

    def signal_group(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if os.name == "nt":
                os.kill(pid, sig)
            else:
                os.killpg(pid, sig)  # start_new_session: the group id is the pid

    signal_group(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid) or os.name != "nt":
        # KILL whatever is left in the group (also workers the server may have forked).
        signal_group(getattr(signal, "SIGKILL", signal.SIGTERM))
    child = _children.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)
    else:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)


def _use(api_url: str) -> str:
    os.environ["PREFECT_API_URL"] = api_url
    return api_url


def _go_ephemeral() -> None:
    """Leave PREFECT_API_URL unset; an empty value when a profile would set one (Prefect reads '' as none)."""
    os.environ.pop("PREFECT_API_URL", None)
    if _profile_api_url():
        os.environ["PREFECT_API_URL"] = ""


def _mode() -> str:
    mode = (os.environ.get(MODE_ENV) or "auto").strip().lower()
    return mode if mode in MODES else "auto"


def resolve_api(announce: Callable[[str], None]) -> str | None:
    """Decide which Prefect API this process uses; call it before importing Prefect.

    Sets ``os.environ["PREFECT_API_URL"]`` and returns it, or returns None for
    Prefect's ephemeral mode. Never raises for a server problem: ``announce``
    gets one line and the run goes on in ephemeral mode.
    """
    raw = (os.environ.get(MODE_ENV) or "auto").strip().lower()
    if raw not in MODES:
        announce(f"hedgeflow: unknown {MODE_ENV}={raw!r} (use auto, ephemeral or off); using auto")
    mode = _mode()
    if mode == "off":
        return os.environ.get("PREFECT_API_URL") or None
    if mode == "ephemeral":
        _go_ephemeral()
        return None

    configured = os.environ.get("PREFECT_API_URL") or _profile_api_url()
    if configured:
        if _reachable(configured):
            return _use(configured)
        announce(f"hedgeflow: PREFECT_API_URL {configured} does not answer; using the local Hedgeflow server instead")
        os.environ.pop("PREFECT_API_URL", None)

    try:
        return _use(_api_url(_ensure_server(announce)))
    except (ServerStartError, OSError) as exc:
        _go_ephemeral()
        announce(f"hedgeflow: could not start a local Prefect server ({exc}); running in ephemeral mode")
        return None


def _ensure_server(announce: Callable[[str], None] | None = None) -> int:
    """The port of a healthy Hedgeflow server, starting one if needed (announced in one line)."""
    with _lock():
        found = _recorded()
        if found is not None:
            pid, port = found
            # Alive and ours: healthy now, or still starting (give it a moment).
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and _alive(pid):
                if _healthy(port):
                    return port
                time.sleep(0.1)
            _terminate(pid)  # hung or gone: replace it
        _clear_files()
        if announce is not None:
            announce(
                "hedgeflow: starting a local Prefect server in the background for this and later runs"
                " (`hedgeflow server stop` stops it)"
            )
        return _start_locked(_timeout())[1]


def server_start() -> str:
    """Start the background server unless one is running; a one-line description of it."""
    with _lock():
        found = _recorded()
        if found is not None and _healthy(found[1]):
            return f"already running: {_describe(*found)}"
    port = _ensure_server()
    pid = _read_int(_pid_file()) or 0
    return f"started: {_describe(pid, port)}"


def server_status() -> str:
    """One line: where the server runs and whether it is healthy, or that none runs."""
    found = _recorded()
    if found is None:
        return "not running (the next `hedgeflow analyze` starts it)"
    pid, port = found
    state = "running" if _healthy(port) else "not answering"
    return f"{state}: {_describe(pid, port)}"


def server_stop() -> bool:
    """Stop the background server; True when one was running. Removes the pid and port files."""
    with _lock():
        pid = _read_int(_pid_file())
        running = pid is not None and _alive(pid) and _looks_like_our_server(pid)
        if running:
            assert pid is not None
            _terminate(pid)
        _clear_files()
        return running


def _describe(pid: int, port: int) -> str:
    return f"pid {pid}, UI http://{LOOPBACK}:{port}, API {_api_url(port)}, log {_log_file()}"


def server_command(action: str) -> int:
    """``hedgeflow server status|start|stop``: print one line, return the exit code."""
    if action == "status":
        line = server_status()
        print(line)
        return 0 if line.startswith("running") else 1
    if action == "start":
        try:
            print(server_start())
        except (ServerStartError, OSError) as exc:
            print(f"hedgeflow: could not start a local Prefect server ({exc})", file=sys.stderr)
            return 1
        return 0
    if action == "stop":
        print("stopped" if server_stop() else "not running")
        return 0
    print(f"hedgeflow: error: unknown server action {action!r}; use status, start or stop", file=sys.stderr)
    return 2
