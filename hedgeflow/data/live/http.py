"""One HTTP client for the live services: SEC's rate limit, failures classified, documents fetched once.

Failures are classified, not retried here (the task layer owns retries):
429, 5xx, timeouts, dropped connections and an HTML page answered with 200
raise TransientDataError (with the server's Retry-After); 404 raises
DataUnavailableError; SEC's "undeclared automated tool" page raises
UserAgentError and its traffic-limit page a DataError saying to wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Literal, TypeVar

import httpx

from hedgeflow.data.live.settings import LiveSettings, UserAgentError
from hedgeflow.errors import DataError, DataUnavailableError, TransientDataError
from hedgeflow.llm.errors import retry_after_seconds

__all__ = ["DocumentMemo", "LiveHttp", "LocalRateLimiter", "RateLimiter", "Service"]

Service = Literal["sec_data", "sec_www", "prices", "news"]
RateLimiter = Callable[[], None]  # blocks until one more request is allowed
T = TypeVar("T")

SEC_SERVICES: frozenset[Service] = frozenset({"sec_data", "sec_www"})
BROWSER_AGENT = "Mozilla/5.0 (compatible; hedgeflow)"  # the keyless endpoints turn away empty agents


class LocalRateLimiter:
    """At most ``per_second`` calls per second in this process: calls are spaced 1/per_second apart."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval_s = 1.0 / per_second
        self._clock, self._sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval_s
        if start > now:
            self._sleep(start - now)


class DocumentMemo:
    """Fetched documents kept for ``ttl_s``; concurrent callers of one key wait for a single fetch."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            hit = self._values.get(key)
            if hit is not None and self._clock() - hit[0] < self.ttl_s:
                return hit[1]  # type: ignore[no-any-return]
            value = fetch()
            self._values[key] = (self._clock(), value)
            return value

    def clear(self) -> None:
        with self._guard:
            self._values.clear()


class LiveHttp:
    """A pooled, thread-safe client; SEC requests pass the rate limiter and carry the declared User-Agent."""

    def __init__(self, settings: LiveSettings, sec_limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.sec_limiter = sec_limiter or LocalRateLimiter(settings.sec_requests_per_s)
        self._bases: dict[Service, str] = {
            "sec_data": settings.sec_data_url, "sec_www": settings.sec_www_url,
            "prices": settings.prices_url, "news": settings.news_url,
        }
        self._http = httpx.Client(timeout=httpx.Timeout(settings.timeout_s, connect=5.0), follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def get(self, service: Service, path: str, what: str, params: dict[str, Any] | None = None,
            accept: frozenset[int] = frozenset({200})) -> httpx.Response:
        """GET ``path`` on ``service``: a response whose status is in ``accept``, or a classified DataError."""
        sec = service in SEC_SERVICES
        headers = {"User-Agent": self.settings.sec_user_agent if sec else BROWSER_AGENT,
                   "Accept-Encoding": "gzip, deflate"}
        if sec:
            self.sec_limiter()
        host = "SEC" if sec else {"prices": "the price service", "news": "the news feed"}[service]
        try:
            response = self._http.get(self._bases[service] + path, params=params, headers=headers)
        except httpx.TimeoutException:
            raise TransientDataError(f"{host} timed out fetching {what}") from None
        except httpx.TransportError as exc:
            raise TransientDataError(f"{host} connection failed fetching {what} ({type(exc).__name__})") from None
        status = response.status_code
        if status in accept:
            return response
        wait = retry_after_seconds(response.headers)
        if sec and status in (403, 429):
            text = response.text
            if "Undeclared Automated Tool" in text:
                raise UserAgentError(
                    f"SEC refused {what}: it wants a User-Agent with your name and e-mail "
                    "(HEDGEFLOW_SEC_USER_AGENT or the Hedgeflow Data Provider block)"
                )
            if "Request Rate Threshold" in text or status == 429:
                raise DataError(f"SEC's traffic limit (10 requests per second) was exceeded fetching {what}; "
                                "SEC blocks access for 10 minutes, try again later")
        if status == 429 or status >= 500 or status == 408:
            suffix = f", retry after {wait:g} s" if wait is not None else ""
            raise TransientDataError(f"{host} answered HTTP {status} fetching {what}{suffix}", retry_after_s=wait)
        if status == 404:
            raise DataUnavailableError(f"{host} has no {what} (HTTP 404)")
        raise DataError(f"{host} answered HTTP {status} fetching {what}")

    def json(self, service: Service, path: str, what: str, params: dict[str, Any] | None = None,
             accept: frozenset[int] = frozenset({200})) -> Any:
        """GET and decode JSON; an HTML page answered with 200 is transient (a consent or outage page)."""
        return decode_json(self.get(service, path, what, params, accept), what)


def decode_json(response: httpx.Response, what: str) -> Any:
    """The JSON body of a 200, or TransientDataError when the server sent a page instead."""
    if "html" in response.headers.get("content-type", "").lower():
        raise TransientDataError(f"{response.url.host} answered {what} with an HTML page instead of data")
    try:
        return response.json()
    except ValueError:
        raise TransientDataError(f"{response.url.host} sent an unreadable answer for {what}") from None
