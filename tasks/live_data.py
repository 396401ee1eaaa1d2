"""Building the live provider for tasks: its settings (environment or block) and SEC's shared rate limit.

SEC allows 10 requests per second per user, however many workers run: where a
Prefect server is configured (PREFECT_API_URL) every SEC request first takes a
slot of the global concurrency limit ``hedgeflow-sec-edgar`` (one slot that
decays at the settings' rate, so requests are spaced across all processes);
in ephemeral mode the provider's own in-process limiter spaces them.
"""

from __future__ import annotations

import functools
import os

from prefect.client.orchestration import get_client
from prefect.concurrency.sync import rate_limit
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL

from blocks.data_provider import HedgeflowDataProvider
from hedgeflow.data import DataProvider
from hedgeflow.data.live import LiveProvider, LiveSettings, RateLimiter, check_user_agent

__all__ = ["DEFAULT_BLOCK", "SEC_RATE_LIMIT", "build_provider", "live_settings", "sec_rate_limiter"]

SEC_RATE_LIMIT = "hedgeflow-sec-edgar"
DEFAULT_BLOCK = "default"
BLOCK_PREFIX = "block:"


def live_settings(block_name: str | None = None) -> LiveSettings:
    """A named block's settings; else the environment, a missing User-Agent taken from the ``default`` block."""
    if block_name:
        return _load(block_name).settings()
    if os.environ.get("HEDGEFLOW_SEC_USER_AGENT"):
        return LiveSettings.from_env()
    try:
        agent = _load(DEFAULT_BLOCK).sec_user_agent
    except (ValueError, ObjectNotFound):
        agent = None
    return LiveSettings.from_env(sec_user_agent=check_user_agent(agent))


def _load(name: str) -> HedgeflowDataProvider:
    """The saved block, loaded synchronously even from a worker thread of an async task run."""
    block = HedgeflowDataProvider.load(name, _sync=True)  # type: ignore[call-arg]
    assert isinstance(block, HedgeflowDataProvider)
    return block


def sec_rate_limiter(settings: LiveSettings) -> RateLimiter | None:
    """Prefect's global rate limit when a server is configured, else None (the provider limits locally)."""
    if not PREFECT_API_URL.value():
        return None
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(
            SEC_RATE_LIMIT, limit=1, slot_decay_per_second=settings.sec_requests_per_s
        )
    return functools.partial(rate_limit, SEC_RATE_LIMIT, 1, None, True)


def build_provider(name: str) -> DataProvider:
    """``live`` or ``block:<Hedgeflow Data Provider block>``; ``tasks.fetch`` builds the others."""
    settings = live_settings(name.removeprefix(BLOCK_PREFIX) or None if name != "live" else None)
    return LiveProvider(settings, sec_limiter=sec_rate_limiter(settings))
