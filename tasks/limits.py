"""Each model call and data fetch takes its provider's limits: Prefect global concurrency limits every worker shares.

``make deploy`` writes two limits per provider from the Provider Limits block
(``blocks/limits.py``): ``hedgeflow-inflight-<provider>`` (slots held while a
call is open) and ``hedgeflow-rate-<provider>`` (one slot that decays at
requests_per_minute / 60 per second). Around each call ``provider_limits``
holds an in-flight slot (``prefect.concurrency.sync.concurrency``) and, inside
it, takes a rate slot (``rate_limit``), so a request reaches the wire right
after its rate slot was granted.

Cost. Taking a limit is a call to the Prefect API: acquire, the lease's first
renewal and release for the in-flight slot, one more for the rate slot. So a
limit is taken only where it exists: the server's ``hedgeflow-*`` limits are
read once per process and minute (one request) and a provider with neither
limit costs nothing more. With no ``PREFECT_API_URL`` (the offline default, an
ephemeral API) nothing is read at all: there is no server for other workers to
share limits on, and ``make deploy`` needs one.

Waiting. A slot the server refuses is asked for again after its Retry-After,
and every refusal is a write on the server. A worker runs hundreds of model
calls at once (runs x analysts x tickers), so the calls of one process first
queue at a gate of their own: at most the in-flight limit's size of them ask
the server for in-flight slots, and one at a time for a rate slot. No process
can hold more slots than the limit anyway, so the gate never slows a call the
server would have let through; it keeps the waiting off the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar

import httpx
from prefect.client.orchestration import get_client
from prefect.concurrency.sync import concurrency, rate_limit
from prefect.exceptions import PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL
from pydantic import BaseModel

from blocks.limits import in_flight_limit_name, rate_limit_name
from hedgeflow.llm import UnavailableClient
from hedgeflow.llm.base import ModelClient, ModelReply, ModelRequest

__all__ = ["LIMITS_TTL_S", "LimitedClient", "data_api", "existing_limits", "forget_limits", "limited",
           "provider_limits"]

LIMITS_TTL_S = 60.0  # a limit created or deleted on the server is seen within this
_PAGE = 200  # the API's largest page
_KNOWN: dict[str, tuple[float, dict[str, int]]] = {}  # API URL -> (when read, hedgeflow-* limit name -> size)
_KNOWN_LOCK = threading.Lock()
_GATES: dict[tuple[str, int], threading.BoundedSemaphore] = {}  # (limit name, size) -> this process's gate

T = TypeVar("T", bound=BaseModel)


def _read_limits() -> dict[str, int]:
    sizes: dict[str, int] = {}
    with get_client(sync_client=True) as client:
        for offset in range(0, 100 * _PAGE, _PAGE):
            page = client.read_global_concurrency_limits(limit=_PAGE, offset=offset)
            sizes.update((limit.name, limit.limit) for limit in page if limit.name.startswith("hedgeflow-"))
            if len(page) < _PAGE:
                break
    return sizes


def _sizes() -> dict[str, int]:
    """The server's ``hedgeflow-*`` limits (name -> slots), read at most once a minute per process; empty without a server.

    A server that cannot answer counts as one without limits until the next read:
    the call itself then fails or succeeds on its own.
    """
    url = PREFECT_API_URL.value()
    if not url:
        return {}
    with _KNOWN_LOCK:
        known = _KNOWN.get(url)
        if known is None or time.monotonic() - known[0] > LIMITS_TTL_S:
            try:
                sizes = _read_limits()
            except (httpx.HTTPError, PrefectHTTPStatusError):
                sizes = {}
            known = _KNOWN[url] = (time.monotonic(), sizes)
        return known[1]


def existing_limits() -> frozenset[str]:
    """The names of the server's ``hedgeflow-*`` limits (``_sizes``)."""
    return frozenset(_sizes())


def forget_limits() -> None:
    """Read the server's limits again at the next call (after creating or deleting some)."""
    with _KNOWN_LOCK:
        _KNOWN.clear()


def _gate(name: str, size: int) -> threading.BoundedSemaphore:
    """This process's queue in front of limit ``name``: ``size`` callers at once ask the server."""
    with _KNOWN_LOCK:
        return _GATES.setdefault((name, max(1, size)), threading.BoundedSemaphore(max(1, size)))


@contextmanager
def provider_limits(provider: str) -> Iterator[None]:
    """Hold an in-flight slot of ``provider`` and take a rate slot, each only if that limit exists; waits for both."""
    sizes = _sizes()
    in_flight, rate = in_flight_limit_name(provider), rate_limit_name(provider)
    with ExitStack() as held:
        if in_flight in sizes:
            held.enter_context(_gate(in_flight, sizes[in_flight]))
            held.enter_context(concurrency(in_flight))
        if rate in sizes:
            with _gate(rate, 1):  # one slot that decays: one grant at a time, so one asker per process
                rate_limit(rate)
        yield


def data_api(provider: str) -> str:
    """The limits' provider name of a data provider: a ``block:<name>`` Data Provider block is the live one."""
    return "live" if provider.startswith("block:") else provider


class LimitedClient:
    """A ModelClient whose every call holds its provider's limits (``provider_limits``)."""

    def __init__(self, inner: ModelClient) -> None:
        self.inner, self.provider, self.model = inner, inner.provider, inner.model

    def __repr__(self) -> str:
        return f"LimitedClient({self.inner!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        with provider_limits(self.provider):
            return self.inner.complete(request, output_type)


def limited(client: ModelClient) -> ModelClient:
    """``client`` behind its provider's limits when the server has any; otherwise ``client`` itself."""
    if isinstance(client, UnavailableClient):
        return client  # it makes no call
    wanted = {in_flight_limit_name(client.provider), rate_limit_name(client.provider)}
    return LimitedClient(client) if wanted & existing_limits() else client
