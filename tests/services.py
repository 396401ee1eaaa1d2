"""Start the real PostgreSQL and Redis this machine has, install the browser the UI tests drive, or say why not.

Used by the test command (``make test``) and by fixtures. The embedded default
(no Redis, SQLite) needs neither. The browser tests drive Debian's ``chromium``
package (never a browser build Playwright would download).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

POSTGRES_URL = os.environ.get("HEDGEFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HEDGEFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379")
CHROMIUM = "/usr/bin/chromium"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(port: int, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _listening(port):
            return True
        time.sleep(0.2)
    return False


def ensure_postgres() -> str | None:
    """None when PostgreSQL listens on 5432 (starting it if installed); otherwise why not."""
    if _listening(5432):
        return None
    clusters = Path("/etc/postgresql")
    if not shutil.which("pg_ctlcluster") or not clusters.is_dir():
        return "PostgreSQL is not installed (apt-get install postgresql) and nothing listens on 127.0.0.1:5432"
    version = sorted(p.name for p in clusters.iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=False)
    return None if _wait(5432) else "PostgreSQL was started but does not listen on 127.0.0.1:5432"


def ensure_redis() -> str | None:
    """None when Redis listens on 6379 (starting it if installed); otherwise why not."""
    if _listening(6379):
        return None
    if not shutil.which("redis-server"):
        return "Redis is not installed (apt-get install redis-server) and nothing listens on 127.0.0.1:6379"
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
         "--save", "", "--appendonly", "no"],
        check=False,
    )
    return None if _wait(6379) else "Redis was started but does not listen on 127.0.0.1:6379"


def ensure_chromium() -> str | None:
    """None when Debian's chromium is at /usr/bin/chromium (installing it with apt-get when missing); else why not."""
    if Path(CHROMIUM).is_file():
        return None
    if not shutil.which("apt-get"):
        return f"Chromium is not installed at {CHROMIUM} and there is no apt-get to install it"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "text": True, "check": False}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update"], env=env, **quiet)  # type: ignore[call-overload]
    install = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"], env=env, **quiet)  # type: ignore[call-overload]
    if Path(CHROMIUM).is_file():
        return None
    why = (install.stderr or update.stderr or "").strip().splitlines()[-1:] or ["no output"]
    return f"Chromium could not be installed (apt-get install chromium as root): {why[0]}"


if __name__ == "__main__":
    problems = [p for p in (ensure_postgres(), ensure_redis(), ensure_chromium()) if p]
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    sys.exit(1 if problems else 0)
