"""Who holds a lock, and whether they still live: host, pid and the process's start time.

A lock left by a process that died (kill -9, a crash, a lost machine) must not
make the next run wait out its expiry. Each lock records its owner; a waiter
on the same host asks the kernel whether that pid still runs the same process
(the start time tells a reused pid apart); a waiter on another host looks for
the owner's heartbeat in Redis, a key it renews every few seconds while alive.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["HEARTBEAT_S", "Owner", "current_owner", "describe", "heartbeat_key", "is_alive", "start_heartbeat"]

log = logging.getLogger("hedgeflow.locks")

HEARTBEAT_S = 5.0  # how often a live process renews its heartbeat; it lapses after 3 of these
Owner = Mapping[str, Any]  # {"host": str, "pid": int, "started": str | None}

_HEARTBEATS: dict[tuple[int, str], threading.Thread] = {}
_HEARTBEATS_LOCK = threading.Lock()


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), or None off Linux."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def current_owner() -> Owner:
    """This process as a lock owner (read afresh, so a forked child is itself)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_time(pid)}


def heartbeat_key(owner: Owner) -> str:
    return f"hedgeflow:alive:{owner['host']}:{owner['pid']}:{owner.get('started')}"


def is_alive(owner: Owner, redis_client: Any = None) -> bool:
    """False only when the owner is known dead: its pid gone or reused on this host, or its heartbeat lapsed."""
    if not isinstance(owner.get("pid"), int):
        return True  # an old lock without an owner: only its expiry frees it
    if owner.get("host") == socket.gethostname():
        try:
            os.kill(owner["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's process, but alive
        started = owner.get("started")
        return started is None or _start_time(owner["pid"]) in (None, started)
    if redis_client is None:
        return True  # another machine and no shared place to ask: wait for the expiry
    return bool(redis_client.exists(heartbeat_key(owner)))


def describe(owner: Owner | None) -> str:
    if not owner or "pid" not in owner:
        return "another run"
    return f"pid {owner['pid']} on {owner.get('host', '?')}"


def start_heartbeat(redis_client: Any, url: str) -> None:
    """Renew this process's heartbeat in Redis every HEARTBEAT_S while it lives (one daemon thread per URL)."""
    owner = current_owner()
    with _HEARTBEATS_LOCK:
        if (thread := _HEARTBEATS.get((owner["pid"], url))) is not None and thread.is_alive():
            return
        key, ttl_ms = heartbeat_key(owner), int(HEARTBEAT_S * 3 * 1000)
        redis_client.set(key, "1", px=ttl_ms)

        def beat() -> None:
            while True:
                time.sleep(HEARTBEAT_S)
                try:
                    redis_client.set(key, "1", px=ttl_ms)
                except Exception as exc:  # a blip: the next beat tries again, before the key lapses
                    log.debug("heartbeat %s not renewed: %s", key, exc)

        thread = threading.Thread(target=beat, name="hedgeflow-heartbeat", daemon=True)
        thread.start()
        _HEARTBEATS[(owner["pid"], url)] = thread
