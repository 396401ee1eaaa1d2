"""A wide thread pool for blocking calls made from async tasks.

asyncio's default executor has min(32, cores + 4) threads: on a 2-core
machine six model calls at a time. Every (analyst x ticker) must be in flight
at once, so blocking SDK and HTTP calls go through this pool instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["MAX_BLOCKING_CALLS", "in_thread"]

MAX_BLOCKING_CALLS = 512
_POOL = ThreadPoolExecutor(max_workers=MAX_BLOCKING_CALLS, thread_name_prefix="hedgeflow-io")

P = ParamSpec("P")
R = TypeVar("R")


async def in_thread(fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` in the wide pool, keeping the caller's context (Prefect's run context, loggers)."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_POOL, call)
