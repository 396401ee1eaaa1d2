"""The alerts end to end: a real Prefect server, the automations applied, a local HTTP server as the webhook.

Three thresholds are crossed for real and each alert must arrive at the
webhook, sent by the server's automation service through the Custom Webhook
notification block: a breaker opening (its event), a window of failed runs
(the health flow over the stored runs), and a hedge-fund run slower than the
threshold (a flow of that name that runs longer than ``slow_run_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.test_deploy_e2e import stack  # noqa: F401 - the fixture: a Prefect server on a free port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class Webhook:
    """A loopback HTTP server that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wait_for(self, subject: str, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for body in self.bodies:
                if body.get("subject", "").startswith(subject):
                    return body
            time.sleep(0.25)
        pytest.fail(f"no alert {subject!r} within {timeout_s:.0f} s; received {self.bodies}")


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    hook.thread.start()
    try:
        yield hook
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def _store_failed_runs(count: int) -> None:
    from hedgeflow.store import RunRow, get_engine

    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        {"id": f"failed-{n}", "request": {"tickers": ["AAPL"]}, "status": "failed",
         "started_at": now - dt.timedelta(minutes=5 + n), "finished_at": now - dt.timedelta(minutes=5 + n, seconds=-3),
         "window_start": dt.date(2025, 1, 2), "window_end": dt.date(2025, 3, 31), "model": "rules", "model_calls": 0,
         "input_tokens": 0, "output_tokens": 0, "cached_tokens": 0, "cost_usd": 0.0, "cache_hit_rate": 0.0,
         "degraded_count": 0, "errors": {"AAPL": "down"}}
        for n in range(count)
    ]
    with get_engine().begin() as connection:
        connection.execute(RunRow.__table__.insert(), rows)


def _flush_events() -> None:
    from prefect.events.worker import EventsWorker

    EventsWorker.drain_all(timeout=10)


def test_alerts_reach_the_webhook(stack: tuple[Any, str], webhook: Webhook) -> None:  # noqa: F811
    _, api_url = stack
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.events import emit_event
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from blocks.alerts import AlertSettings
    from deployments.automations import PREFIX, apply_automations, ensure_default_notifier
    from flows.stats import health, stats

    @flow(name="hedge-fund")
    def slow_hedge_fund(seconds: float) -> None:
        time.sleep(seconds)

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        async def configure() -> tuple[list[str], list[str]]:
            await AlertSettings(slow_run_s=10, min_runs=3, window_minutes=30).asave("default")
            assert await ensure_default_notifier(webhook.url)
            first = await apply_automations()
            second = await apply_automations()  # idempotent: updated in place, not duplicated
            async with get_client() as client:
                names = [a.name for a in await client.read_automations()]
            assert first == second
            return second, names

        applied, names = asyncio.run(configure())
        assert len(applied) == 6 and all(n.startswith(PREFIX) for n in applied)
        assert sorted(n for n in names if n.startswith(PREFIX)) == sorted(applied)
        time.sleep(2)  # the triggers service loads new automations on its next refresh

        emit_event(event="hedgeflow.breaker.open", resource={"prefect.resource.id": "hedgeflow.breaker.openai.gpt-4.1"},
                   payload={"provider": "openai", "model": "gpt-4.1", "new": "open"})
        _flush_events()
        alert = webhook.wait_for("Hedgeflow: circuit breaker open", 60)
        assert "hedgeflow.breaker.openai.gpt-4.1" in alert["body"] and alert["source"] == "hedgeflow-alerts"

        _store_failed_runs(3)
        breaches = asyncio.run(health())
        _flush_events()
        assert {b.kind for b in breaches} == {"success-rate-low", "error-rate-high"}
        assert "error rate 100.0 % over 10.0 %" in webhook.wait_for("Hedgeflow: error rate high", 60)["body"]
        assert "success rate 0.0 % under 90.0 %" in webhook.wait_for("Hedgeflow: success rate low", 60)["body"]

        report = asyncio.run(stats(days=0))  # the dashboard flow publishes over the same stored runs
        assert report.runs == 3 and report.error_rate == 1.0

        async def artifact() -> str:
            async with get_client() as client:
                found = await client.read_latest_artifacts()
            return next(a.data for a in found if a.key == "hedgeflow-stats")

        markdown = asyncio.run(artifact())
        assert "| error rate | 100.0 % |" in markdown and markdown.count("](data:image/png;base64,") == 3

        from blocks.limits import ProviderLimit
        from deployments.limits import apply_limits

        limits = [ProviderLimit(provider="openai", requests_per_minute=120, in_flight=4)]
        assert apply_limits(limits) == apply_limits(limits) == ["hedgeflow-rate-openai", "hedgeflow-inflight-openai"]
        with get_client(sync_client=True) as client:
            rate = client.read_global_concurrency_limit_by_name("hedgeflow-rate-openai")
            in_flight = client.read_global_concurrency_limit_by_name("hedgeflow-inflight-openai")
        assert (rate.limit, rate.slot_decay_per_second) == (1, 2.0)  # 120 per minute = 2 slots freed per second
        assert (in_flight.limit, in_flight.slot_decay_per_second) == (4, 0.0)

        slow_hedge_fund(20)
        alert = webhook.wait_for("Hedgeflow: slow run", 60)
        assert "still running 10 s after it started" in alert["body"]
    with contextlib.suppress(Exception):
        _flush_events()
