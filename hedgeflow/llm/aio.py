"""One background event loop per process for the vendor SDKs' async clients.

A model call is asked from many threads at once (one per task run), but the
SDKs' async clients keep connections bound to the event loop that opened them.
So every call runs on one long-lived loop on a daemon thread, and a thread that
asks waits for its result: ``run_on_loop(coro)``. On that loop a request can be
cancelled, which closes its connection: how a hedged call aborts its loser.
A forked child starts its own loop (the parent's thread does not survive a fork).
``stop()`` (Ctrl-C) cancels every waiting call and refuses new ones, so the
task runner's threads end at once instead of waiting out a model's timeout.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["loop", "run_close", "run_on_loop", "stop"]

T = TypeVar("T")

_lock = threading.RLock()  # re-entrant: stop() runs in a signal handler, perhaps while this thread holds it
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None  # (pid, loop)
_stopping = threading.Event()


def _started() -> asyncio.AbstractEventLoop | None:
    """This process's model-call loop if it has started one (a forked child has not, until it calls)."""
    with _lock:
        return _loop[1] if _loop is not None and _loop[0] == os.getpid() else None


def loop() -> asyncio.AbstractEventLoop:
    """The process's model-call loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop[0] != os.getpid():
            new = asyncio.new_event_loop()
            threading.Thread(target=new.run_forever, name="hedgeflow-model-calls", daemon=True).start()
            _loop = (os.getpid(), new)
        return _loop[1]


def run_on_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the model-call loop and wait for its result in this thread.

    Interrupting the wait (Ctrl-C, or a Prefect task timeout raised in this thread)
    cancels the coroutine, so its request is closed rather than left running.
    After ``stop()`` it raises CancelledError at once.
    """
    if _stopping.is_set():
        coro.close()
        raise concurrent.futures.CancelledError("model calls were stopped: the process is ending")
    future = asyncio.run_coroutine_threadsafe(coro, loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()
        raise


def run_close(coro: Coroutine[Any, Any, None], timeout: float = 2.0) -> None:
    """Run a client's closing coroutine: on the model-call loop when this process started one (its
    connections live there), else on a throwaway loop; also after ``stop()``."""
    current = _started()
    if current is None:
        asyncio.run(asyncio.wait_for(coro, timeout))
    else:
        asyncio.run_coroutine_threadsafe(coro, current).result(timeout)


def stop() -> None:
    """Cancel every model call in flight and refuse new ones; safe to call from a signal handler."""
    _stopping.set()
    current = _started()
    if current is not None:
        current.call_soon_threadsafe(_cancel_all, current)


def _cancel_all(running: asyncio.AbstractEventLoop) -> None:
    for task in asyncio.all_tasks(running):
        task.cancel()
