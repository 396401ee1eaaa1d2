"""The benchmark's configuration, scenario names and small helpers shared by its modules."""

from __future__ import annotations

import resource
import statistics
import sys
from dataclasses import dataclass, field

__all__ = ["ALL_SCENARIOS", "BUNDLED", "DATA_KEY", "DESCRIPTIONS", "PAIR", "QUICK_ANALYSTS", "SLOW_SCENARIOS", "Config",
           "rss_mb", "say", "times"]

ALL_SCENARIOS = ("S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7", "CLI", "BT", "TRIG", "LOAD")
SLOW_SCENARIOS = ("LOAD",)  # minutes even at tiny latencies: --tiny runs them only when named
PAIR = ["AAPL", "NVDA"]
BUNDLED = ["AAPL", "NVDA", "GOOGL", "TSLA", "META", "BRK-B", "V"]
DATA_KEY = "sk-bench-hedgeflow-0123456789"
QUICK_ANALYSTS = 3  # S0 --quick: analysts per ticker actually called

DESCRIPTIONS = {
    "S0": "sequential, no Prefect, no cache (before)",
    "S1": "flow, cold",
    "S2": "flow, warm (cached)",
    "S3": "flow, 7 tickers, cold",
    "S4": "flow, 20% transient model faults",
    "S5": "flow, model outage",
    "S6": "flow, zero latency (overhead)",
    "S7": "10 flows at once (asyncio.gather), cold",
    "CLI": "whole hedgeflow analyze processes (AAPL,NVDA cold)",
    "BT": "backtest, 7 tickers monthly 2019-01..2025-09, cold",
    "LOAD": "50 runs on 3 hedgeflow workers, shared limits (bench.load)",
    "TRIG": "deployment run triggered to Completed (bench.trigger)",
}


@dataclass
class Config:
    model_latency: float = 2.0
    model_jitter: float = 0.2
    data_latency: float = 0.15
    fault_rate: float = 0.2
    repeats: int = 3
    s0_repeats: int = 1
    quick: bool = False
    redis: str | None = None
    profile: bool = True
    concurrent_runs: int = 10
    prefect_server: str = "local"  # the default local server (`hedgeflow analyze`'s), or "configured": PREFECT_API_URL
    load_runs: int = 50  # LOAD: runs triggered at once, and the workers taking them
    load_workers: int = 3
    model_timeout_s: float = 6.0  # three times the fake's 2 s latency: a hung call costs this before its retry
    scenarios: list[str] = field(default_factory=lambda: list(ALL_SCENARIOS))
    tiny_backtest: bool = False  # BT: 2 tickers over 3 months instead of the case
    cli_command: str | None = None  # CLI: another install's `hedgeflow` (a "before"), on its own local server

    @classmethod
    def tiny(cls, scenarios: list[str] | None = None, redis: str | None = None) -> Config:
        """Every scenario once at tiny latencies: proves the machinery end to end in a few minutes, measures nothing."""
        return cls(model_latency=0.05, model_jitter=0.0, data_latency=0.01, repeats=1, s0_repeats=1, quick=True,
                   concurrent_runs=3, model_timeout_s=1.0, scenarios=scenarios or list(ALL_SCENARIOS), redis=redis,
                   tiny_backtest=True, load_runs=6, load_workers=2)

    def limit(self, model_latency: float | None = None, data_latency: float | None = None) -> float:
        """One data round trip + one analyst call + one portfolio call."""
        m = self.model_latency if model_latency is None else model_latency
        d = self.data_latency if data_latency is None else data_latency
        return d + 2 * m

    def limit_with_jitter(self, calls: int) -> float:
        """The same with the jitter: the slowest of ``calls`` analyst calls (expected), then a mean one."""
        low, high = self.model_latency * (1 - self.model_jitter), self.model_latency * (1 + self.model_jitter)
        slowest = low + (high - low) * calls / (calls + 1)
        return self.data_latency + slowest + self.model_latency


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def times(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def rss_mb() -> float:
    """This process's peak resident set so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
