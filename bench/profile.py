"""S6's profile: one flow run under cProfile in every thread, summarised by package and by our own functions.

The task runs execute on the task runner's pool threads, the flow body on its
event loop: each thread started during the run gets its own profiler
(``threading.setprofile`` starts it as the thread's first act), and the
statistics of all of them are added up. The profilers count each thread's CPU
time (``time.thread_time``), not wall time: waits (for the model, for a lock,
for the GIL on a machine others load) cost nothing, so the figures say where
the work is.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

__all__ = ["profile_run"]

def _package(filename: str) -> str:
    path = filename.replace("\\", "/")
    for ours in ("/flows/", "/tasks/", "/blocks/", "/hedgeflow/", "/bench/"):
        if ours in path and "site-packages" not in path:
            return ours.strip("/") + " (ours)"
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(("~", "<")):
        return "builtins"
    return "stdlib"


def profile_run(run_once: Callable[[], dict[str, Any]], top: int = 15) -> dict[str, Any]:
    """``run_once()`` (one more cold S6 run) under cProfile, in the calling thread and every thread it starts."""
    import cProfile
    import pstats
    import sys
    import threading
    import time

    profilers: list[cProfile.Profile] = []

    def start_in_thread(frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time)
        profilers.append(profiler)
        profiler.enable()

    profiler = cProfile.Profile(time.thread_time)
    threading.setprofile(start_in_thread)
    profiler.enable()
    try:
        run = run_once()
    finally:
        profiler.disable()
        threading.setprofile(None)
    for other in profilers:
        other.disable()
    stats = pstats.Stats(profiler, *profilers, stream=io.StringIO())
    total = sum(tt for (_, _, tt, _, _) in stats.stats.values())  # type: ignore[attr-defined]
    by_package: dict[str, float] = {}
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        package = _package(filename)
        by_package[package] = by_package.get(package, 0.0) + tottime
        rows.append((cumtime, tottime, calls, f"{_short(filename)}:{line}({name})", package))
    ours = sorted((r for r in rows if r[4].endswith("(ours)")), key=lambda r: -r[0])[:top]
    by_cum = sorted(rows, key=lambda r: -r[0])
    # the cumulative list is dominated by wrappers (run, gather, ...): keep entries under 95 % of the total
    interesting = [r for r in by_cum if r[0] < 0.95 * by_cum[0][0]][:top]
    return {
        "profiled_wall_s": round(run["wall_s"], 3),
        "threads_profiled": 1 + len(profilers),
        "profiled_cpu_s": round(total, 3),
        "self_time_by_package_s": {k: round(v, 3) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]},
        "top_cumulative": [{"cum_s": round(c, 3), "self_s": round(t, 3), "calls": n, "where": w} for c, t, n, w, _ in interesting],
        "top_self": [{"self_s": round(t, 3), "calls": n, "where": w} for c, t, n, w, _ in sorted(rows, key=lambda r: -r[1])[:top]],
        "ours_cumulative": [{"cum_s": round(c, 3), "self_s": round(t, 3), "calls": n, "where": w} for c, t, n, w, _ in ours],
    }


def _short(filename: str) -> str:
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__))).replace("\\", "/") + "/"
    return path.removeprefix(root)
