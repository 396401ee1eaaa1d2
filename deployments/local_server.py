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
c. a new background server on port ``HEDGEFLOW_SERVER_PORT`` (default
   Prefect's 4200 when it is free, else a free loopback port; 0 for any free
   port), with its own ``PREFECT_HOME``, so
   its own SQLite database (PostgreSQL with ``HEDGEFLOW_SERVER_DATABASE=postgresql``);
   analytics off; batched database writes), announced in one line and
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

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from deployments.server_process import (
    EPHEMERAL_TIMEOUT,
    PORT_ENV,
    TIMEOUT_ENV,
    ServerStartError,
    alive,
    api_url,
    clear_files,
    configured_port,
    healthy,
    lock,
    log_file,
    looks_like_our_server,
    pid_file,
    reachable,
    read_int,
    recorded,
    start_locked,
    start_timeout,
    stop_ephemeral_servers,
    terminate,
)

__all__ = [
    "MODE_ENV",
    "PORT_ENV",
    "TIMEOUT_ENV",
    "ServerStartError",
    "configured_port",
    "resolve_api",
    "server_command",
    "server_start",
    "server_status",
    "server_stop",
    "ui_url",
]

MODE_ENV = "HEDGEFLOW_SERVER"
MODES = ("auto", "ephemeral", "off")
LOOPBACK = "127.0.0.1"


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
        if reachable(configured):
            return _use(configured)
        announce(f"hedgeflow: PREFECT_API_URL {configured} does not answer; using the local Hedgeflow server instead")
        os.environ.pop("PREFECT_API_URL", None)

    try:
        return _use(api_url(_ensure_server(announce)))
    except (ServerStartError, OSError) as exc:
        _go_ephemeral()
        announce(f"hedgeflow: could not start a local Prefect server ({exc}); running in ephemeral mode")
        return None


def _ensure_server(announce: Callable[[str], None] | None = None) -> int:
    """The port of a healthy Hedgeflow server, starting one if needed (announced in one line)."""
    with lock():
        found = recorded()
        if found is not None:
            pid, port = found
            # Alive and ours: healthy now, or still starting (give it a moment).
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline and alive(pid):
                if healthy(port):
                    return port
                time.sleep(0.1)
            terminate(pid)  # hung or gone: replace it
        clear_files()
        if announce is not None:
            announce(
                "hedgeflow: starting a local Prefect server in the background for this and later runs"
                " (`hedgeflow server stop` stops it)"
            )
        return start_locked(start_timeout())[1]


def server_start() -> str:
    """Start the background server unless one is running; a one-line description of it."""
    with lock():
        found = recorded()
        if found is not None and healthy(found[1]):
            return f"already running: {_describe(*found)}"
    port = _ensure_server()
    pid = read_int(pid_file()) or 0
    return f"started: {_describe(pid, port)}"


def server_status() -> str:
    """One line: where the server runs and whether it is healthy, or that none runs."""
    found = recorded()
    if found is None:
        return "not running (the next `hedgeflow analyze` starts it)"
    pid, port = found
    state = "running" if healthy(port) else "not answering"
    return f"{state}: {_describe(pid, port)}"


def server_stop() -> bool:
    """Stop the background server; True when one was running. Removes the pid and port files."""
    with lock():
        pid = read_int(pid_file())
        running = pid is not None and alive(pid) and looks_like_our_server(pid)
        if running:
            assert pid is not None
            terminate(pid)
        clear_files()
        return running


def ui_url(api_url: str) -> str:
    """The Prefect UI's address for an API URL (``.../api`` dropped)."""
    return api_url.rstrip("/").removesuffix("/api")


def _describe(pid: int, port: int) -> str:
    return f"pid {pid}, UI http://{LOOPBACK}:{port}, API {api_url(port)}, log {log_file()}"


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


OWNER_TAG = "hedgeflow-owner:"  # + host:pid:start time of the process running the flow


def owner_tag() -> str:
    """The tag naming this process as the runner of its flow runs (blocks/owners.py's identity)."""
    from blocks.owners import current_owner

    owner = current_owner()
    return f"{OWNER_TAG}{owner['host']}:{owner['pid']}:{owner['started']}"


def mark_crashed_runs() -> list[str]:
    """Mark Crashed the flow runs left RUNNING or PENDING by a hedgeflow process of this host that died
    (kill -9, power loss); their ids. Runs of live processes and of other hosts are left alone."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
        FlowRunFilterTags,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    from blocks.owners import is_alive

    async def sweep() -> list[str]:
        marked: list[str] = []
        async with get_client() as client:
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=["hedgeflow"]),
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING])),
            ))
            for run in runs:
                tag = next((t for t in run.tags if t.startswith(OWNER_TAG)), None)
                if tag is None:
                    continue
                host, pid, started = tag.removeprefix(OWNER_TAG).rsplit(":", 2)
                owner = {"host": host, "pid": int(pid), "started": None if started == "None" else started}
                if is_alive(owner):
                    continue
                await client.set_flow_run_state(run.id, Crashed(
                    message=f"the process running it (pid {pid} on {host}) is gone"), force=True)
                marked.append(str(run.id))
        return marked

    try:
        return asyncio.run(sweep())
    except Exception as exc:  # noqa: BLE001 - a sweep that cannot run must not stop the run it precedes
        if EPHEMERAL_TIMEOUT in str(exc):
            stop_ephemeral_servers()  # Prefect leaves the half-started server running; the run tries again
        return []
