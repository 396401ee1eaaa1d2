"""S6's profile: one flow run under cProfile, summarised by package and by our own functions."""

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
    if path.startswith("~") or path.startswith("<"):
        return "builtins"
    return "stdlib"


def profile_run(run_once: Callable[[], dict[str, Any]], top: int = 15) -> dict[str, Any]:
    """``run_once()`` (one more cold S6 run) under cProfile: the event-loop thread, where Prefect's engine runs."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    run = run_once()
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
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
        "main_thread_profiled_s": round(total, 3),
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
