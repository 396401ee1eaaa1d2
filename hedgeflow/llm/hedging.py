"""Hedged requests: a second, identical request when the first is slow or fails; the first valid answer wins.

A call starts one request. A second one (the hedge) starts when the first has
not answered after

    hedge_after_s = max(floor_s, multiple * median(latency of the provider's last 50 answers))

or at once when the first fails with a transient error (429, 5xx, timeout,
dropped connection) before then, after its Retry-After if it gave one. Until ``min_samples`` answers have been seen
no hedge starts on slowness: a provider is never judged on no data. The first
valid answer wins and the other request is cancelled: its connection is closed
(the requests run on ``hedgeflow.llm.aio``'s loop), so it is not left running.

Cost is counted once, as billed: a cancelled request got no response, and
providers bill only what they answer, so it adds nothing; the winner's usage
counts; a request that did answer (both answered together, or one answered
off the schema, which is billed) adds its usage too. ``calls`` counts the
answers billed. When every request fails the first failure is raised: the
caller's ordinary path (retry, breaker, fallback) takes it, and since a hedged
call is one call to the breaker, a hedge's failure is never counted twice.

A hedge spends the call's retry budget: ``may_hedge`` is asked before each
hedge (the task layer answers from the retries left and the breaker's state).
The rules model is never hedged: it makes no request (it is not ``Hedgeable``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from hedgeflow.llm.aio import run_on_loop
from hedgeflow.llm.base import ModelReply, ModelRequest
from hedgeflow.llm.errors import ModelError
from hedgeflow.llm.latency import LatencyTimeout
from hedgeflow.schemas import ModelUsage

__all__ = ["HedgeLedger", "HedgeSettings", "Hedgeable", "HedgedClient"]

T = TypeVar("T", bound=BaseModel)

RETRY_AFTER_CAP_S = 10.0  # a Retry-After is waited up to this, as ``hedgeflow.retry.RETRY`` does


class HedgeSettings(BaseModel):
    """When a call sends its hedge; travels with the run (the model block, or the run's ModelSetup)."""

    model_config = ConfigDict(frozen=True)

    enabled: bool = Field(default=True, description="Send a hedge at all.")
    multiple: float = Field(default=1.5, ge=1.0, description="Hedge after this multiple of the median latency.")
    floor_s: float = Field(default=1.0, ge=0.0, description="Never hedge earlier than this many seconds.")
    min_samples: int = Field(default=5, ge=1, description="Answers seen before slowness may start a hedge.")

    def after_s(self, median_s: float | None) -> float | None:
        """Seconds after which a slow call is hedged; None when off or while too few answers are known."""
        if not self.enabled or median_s is None:
            return None
        return max(self.floor_s, self.multiple * median_s)


@runtime_checkable
class Hedgeable(Protocol):
    """A client whose requests can be raced and cancelled: the vendor clients."""

    provider: str
    model: str
    timeouts: LatencyTimeout

    async def acomplete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]: ...


def _allow(cause: ModelError | None) -> bool:
    return True


class HedgeLedger:
    """Hedges sent per call (e.g. per task run), so hedges and retries spend one budget; thread-safe, it pickles."""

    def __init__(self) -> None:
        self._spent: dict[str, int] = {}
        self._lock = threading.Lock()

    def spend(self, call: str) -> None:
        with self._lock:
            self._spent[call] = self._spent.get(call, 0) + 1

    def spent(self, call: str) -> int:
        with self._lock:
            return self._spent.get(call, 0)

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class HedgedClient:
    """``inner`` with one hedge per call at most; itself a ModelClient.

    Args:
        settings: When to hedge; ``enabled=False`` makes it ``inner`` unchanged.
        may_hedge: Asked just before a hedge is sent, with the failure that
            prompts it (None: the request is slow); False sends none (no retry
            left, or the breaker is not closed). True means the hedge is spent.
    """

    def __init__(self, inner: Hedgeable, settings: HedgeSettings | None = None, *,
                 may_hedge: Callable[[ModelError | None], bool] = _allow) -> None:
        self.inner, self.settings, self._may_hedge = inner, settings or HedgeSettings(), may_hedge
        self.provider, self.model = inner.provider, inner.model

    def __repr__(self) -> str:
        return f"HedgedClient({self.inner!r}, {self.settings!r})"

    def complete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        return run_on_loop(self.acomplete(request, output_type))

    def _hedge_after_s(self) -> float | None:
        return self.settings.after_s(self.inner.timeouts.median_s(self.settings.min_samples))

    async def acomplete(self, request: ModelRequest, output_type: type[T]) -> ModelReply[T]:
        if not self.settings.enabled:
            return await self.inner.acomplete(request, output_type)
        started = time.perf_counter()
        poll_s = max(0.01, min(0.25, self.settings.floor_s / 2))  # while too few answers are known
        pending = {asyncio.ensure_future(self.inner.acomplete(request, output_type))}
        errors: list[ModelError] = []
        billed = ModelUsage()  # answers that did not win but were billed
        decided = False  # the one hedge was sent, or declined
        try:
            while pending:
                wait_s: float | None = None
                if not decided:
                    after = self._hedge_after_s()
                    wait_s = poll_s if after is None else max(0.0, after - (time.perf_counter() - started))
                done, pending = await asyncio.wait(pending, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
                winner: ModelReply[T] | None = None
                for task in done:
                    error = task.exception()
                    if error is None:
                        reply = task.result()
                        if winner is None:
                            winner = reply
                        else:
                            billed += reply.usage  # answered together: both were billed
                    elif isinstance(error, ModelError):
                        errors.append(error)
                        billed += error.usage or ModelUsage()
                    else:
                        raise error
                if winner is not None:
                    usage = winner.usage + billed
                    usage.latency_s = round(time.perf_counter() - started, 4)  # what the caller waited
                    return winner.model_copy(update={"usage": usage})
                if decided:
                    continue
                failed_early = not pending and errors and errors[-1].transient
                after = self._hedge_after_s()
                slow = bool(pending) and after is not None and time.perf_counter() - started >= after
                if failed_early or slow:
                    decided = True
                    if self._may_hedge(errors[-1] if failed_early else None):
                        if failed_early:  # a 429's Retry-After is honoured, as before a retry
                            await asyncio.sleep(min(RETRY_AFTER_CAP_S, getattr(errors[-1], "retry_after_s", None) or 0.0))
                        pending.add(asyncio.ensure_future(self.inner.acomplete(request, output_type)))
            first = errors[0]
            if billed.calls:
                first.usage = billed  # every answer billed before the call failed
            raise first
        finally:
            for task in pending:
                task.cancel()  # closes the loser's connection
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
