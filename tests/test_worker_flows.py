"""Small flows the worker tests deploy (tests/test_worker.py): no tests here.

``record`` appends one line per execution to a file, so a test counts how
often, in which process and on which thread each run was executed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from prefect import flow
from prefect.runtime import flow_run

__all__ = ["crash", "fail", "record"]


@flow(name="worker-check-record")
async def record(path: str, pause_s: float = 0.0) -> str:
    """Append ``<flow run id> <pid> <thread name>``; after ``pause_s`` seconds append ``<id> finished``."""
    run_id = str(flow_run.get_id())
    _append(path, f"{run_id} {os.getpid()} {threading.current_thread().name}")
    await asyncio.sleep(pause_s)
    _append(path, f"{run_id} finished")
    return run_id


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as out:
        out.write(line + "\n")


@flow(name="worker-check-fail")
def fail() -> None:
    raise ValueError("this run fails on purpose")


@flow(name="worker-check-crash")
def crash() -> None:
    raise SystemExit(3)  # what ends a process worker's child; here it must end only this run
