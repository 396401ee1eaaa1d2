"""The benchmark's environment: fake servers in threads, a Prefect API, a temporary home."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from bench.config import BUNDLED, DATA_KEY, Config, say

__all__ = ["Env", "Fake", "data_end", "environment", "fresh_state", "prefect_settings"]



@dataclass
class Fake:
    url: str
    stop: Callable[[], None]

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        import httpx

        return httpx.post(f"{self.url}{path}", json=body or {}, timeout=10).raise_for_status().json()  # type: ignore[no-any-return]

    def counters(self) -> dict[str, Any]:
        import httpx

        return httpx.get(f"{self.url}/admin/counters", timeout=10).raise_for_status().json()  # type: ignore[no-any-return]

    def reset(self, **mode: Any) -> None:
        """Counters to zero, outage and queued faults off, then ``mode`` (latency, fault_rate, outage)."""
        self._post("/admin/reset")
        if mode:
            self._post("/admin/mode", mode)


@dataclass
class Env:
    config: Config
    model: Fake
    data: Fake
    api_url: str
    base: str
    end: dt.date

    @property
    def model_spec(self) -> str:
        return f"openai-compatible:fake@{self.model.url}/v1"

    def set_latency(self, model: float, data: float, fault_rate: float = 0.0, outage: bool = False) -> None:
        """The fakes' behaviour for the next runs, which start with new model clients, as a user's process
        does: a client learns its provider's latency, and one taught by the zero-latency warm-up hedged
        every call of the next scenario after its 1 s floor (S1 sent 77 requests for 39 calls)."""
        from hedgeflow.llm.client import clear_client_cache

        self.model.reset(latency=model, fault_rate=fault_rate, outage=outage)
        self.data.reset(latency=data, fault_rate=0.0)
        clear_client_cache()


def prepare_environment(base: str, redis: str | None, model_timeout_s: float) -> None:
    """Before Prefect is imported: a private home, no Redis unless asked, quiet console logs."""
    os.environ["HEDGEFLOW_HOME"] = os.path.join(base, "hedgeflow-home")
    os.environ.pop("HEDGEFLOW_DATABASE_URL", None)  # default SQLite in the temporary home
    if redis:
        os.environ["HEDGEFLOW_REDIS_URL"] = redis
    else:
        os.environ.pop("HEDGEFLOW_REDIS_URL", None)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["HEDGEFLOW_SERVER_PORT"] = "0"  # any free port: never take 4200 from the user's server
    os.environ.setdefault("HEDGEFLOW_SERVER_TIMEOUT", "180")  # a busy machine: a late server beats no benchmark
    # A hung call costs this before its retry (the SDK default is 60 s).
    os.environ.setdefault("HEDGEFLOW_MODEL_TIMEOUT_S", f"{model_timeout_s:g}")
    if "prefect" not in sys.modules:
        os.environ["PREFECT_HOME"] = os.path.join(base, "prefect-home")  # client-side result storage
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")


@contextlib.contextmanager
def environment(config: Config) -> Iterator[Env]:
    """Fakes in threads, a Prefect API, a temporary home; everything started here is stopped here."""
    base = tempfile.mkdtemp(prefix="hedgeflow-bench-")
    saved = dict(os.environ)
    stops: list[Callable[[], None]] = []
    started_server = False
    try:
        prepare_environment(base, config.redis, config.model_timeout_s)
        from bench import serve_in_thread
        from bench.fake_data import create_app as data_app
        from bench.fake_model import create_app as model_app

        model_url, model_stop = serve_in_thread(model_app(latency=config.model_latency, jitter=config.model_jitter,
                                                          seed=0, retry_after_s=1.0))
        stops.append(model_stop)
        data_url, data_stop = serve_in_thread(data_app(latency=config.data_latency, api_key=DATA_KEY, seed=0))
        stops.append(data_stop)
        os.environ["FINANCIAL_DATASETS_BASE_URL"] = data_url
        os.environ["FINANCIAL_DATASETS_API_KEY"] = DATA_KEY

        # "local" (default): the server `hedgeflow analyze` starts (deployments/local_server.py: SQLite, its
        # settings), in the temporary home, whatever PREFECT_API_URL says; "configured": PREFECT_API_URL.
        api_url = (os.environ.get("PREFECT_API_URL") or "") if config.prefect_server == "configured" else ""
        if not api_url:
            os.environ.pop("PREFECT_API_URL", None)
            from deployments.local_server import server_start

            say("starting a Prefect server in the temporary home ...")
            line = server_start()
            started_server = True
            match = re.search(r"API (\S+?),", line)
            if not match:
                raise RuntimeError(f"could not read the server's API URL from {line!r}")
            api_url = match.group(1)
            os.environ["PREFECT_API_URL"] = api_url
        yield Env(config=config, model=Fake(model_url, model_stop), data=Fake(data_url, data_stop),
                  api_url=api_url, base=base, end=data_end())
    finally:
        if "prefect" in sys.modules:  # send what is queued while the API still answers
            with contextlib.suppress(Exception):
                from prefect.events.worker import EventsWorker
                from prefect.logging.handlers import APILogWorker

                EventsWorker.drain_all()
                APILogWorker.drain_all()
        if started_server:
            from deployments.local_server import server_stop

            server_stop()
        for stop in reversed(stops):
            with contextlib.suppress(Exception):
                stop()
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def prefect_settings(api_url: str) -> Iterator[None]:
    """PREFECT_API_URL also when Prefect was imported before the environment was set (``hedgeflow bench``)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


# --------------------------------------------------------------------------- one run


def fresh_state(env: Env, cold: bool) -> None:
    """A closed breaker; empty caches when ``cold`` (with ``--redis`` only the memory tier: the
    runs refresh their keys instead, see ``scenarios.flow_run``).

    ``CircuitBreakerBlock().breaker()`` is the process's one breaker for that
    configuration (state included), so it is also reset for the fake model.
    """
    from blocks.breaker import CircuitBreakerBlock
    from blocks.cache import MEMORY
    from hedgeflow.llm import parse_model
    from tasks.caching import clear_cache

    spec = parse_model(env.model_spec)
    CircuitBreakerBlock.from_env().breaker().reset((spec.provider, spec.model))
    if cold:
        if not env.config.redis:  # with --redis the runs refresh instead: other users' keys stay
            clear_cache()
        MEMORY.clear()


def data_end() -> dt.date:
    """The as-of date: the bundled data's last day (the fake serves the bundle; the live provider's
    default end is today, which the bundle does not reach)."""
    from hedgeflow.data.offline import OfflineProvider

    available = OfflineProvider().tickers()
    return min(available[t][1] for t in BUNDLED)
