"""Progress of a run's analysts: a Prefect progress artifact, and local listeners (the CLI's bar)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import httpx
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.exceptions import MissingContextError, PrefectHTTPStatusError
from prefect.logging import get_run_logger

__all__ = ["Progress", "add_listener", "remove_listener"]

Listener = Callable[[int, int, str | None], None]  # (done, total, ticker of the analyst just finished)
Update = Callable[..., Awaitable[Any]]  # aupdate_progress_artifact's shape: (artifact_id, progress, description=...)
_LISTENERS: list[Listener] = []
UPDATE_EVERY_S = 0.25  # the artifact is an API call: at most four a second,
UPDATE_EVERY_SHARE = 0.1  # and only when at least a tenth more of the analysts finished (or all did)


def add_listener(listener: Listener) -> None:
    _LISTENERS.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


class Progress:
    """Counts finished analyst task runs; created inside a flow run.

    Updates to the artifact go one at a time, each sending the count at the
    moment it is sent: two requests in flight at once could land in either
    order, and an older count would overwrite the final one. The artifact is
    a view of the run, not its result: an API that fails to create or update
    it (a busy server's 500) is said once in the run's log, and the run goes on.
    """

    def __init__(self, total: int, update: Update = aupdate_progress_artifact) -> None:
        self.total, self.done = total, 0
        self._update = update
        self._artifact: UUID | None = None
        self._last = 0.0
        self._sent = -1  # the count the artifact shows
        self._sending = asyncio.Lock()

    async def start(self) -> None:
        try:
            self._artifact = await acreate_progress_artifact(0.0, key="analysts-progress",
                                                             description="Analysts finished")
        except (PrefectHTTPStatusError, httpx.HTTPError) as error:
            self._give_up(error)
        self._sent = 0
        self._notify()

    async def step(self, ticker: str | None = None) -> None:
        self.done += 1
        self._notify(ticker)
        now = time.monotonic()
        due = now - self._last >= UPDATE_EVERY_S and self.done - self._sent >= UPDATE_EVERY_SHARE * self.total
        if self._artifact is not None and (self.done >= self.total or due):
            self._last = now
            await self._send()

    async def _send(self) -> None:
        async with self._sending:
            done = self.done  # read under the lock: the latest count, never an older one
            if self._artifact is None or done <= self._sent:
                return
            try:
                await self._update(self._artifact, 100.0 * done / max(1, self.total),
                                   description=f"{done} of {self.total} analysts finished")
            except (PrefectHTTPStatusError, httpx.HTTPError) as error:
                self._give_up(error)
                return
            self._sent = done

    def _give_up(self, error: Exception) -> None:
        """No more artifact updates this run; the local listeners still hear every step."""
        self._artifact = None
        try:
            logger: logging.Logger | logging.LoggerAdapter[logging.Logger] = get_run_logger()
        except MissingContextError:  # outside a run: no run log to write to
            logger = logging.getLogger("hedgeflow.progress")
        logger.warning("progress artifact not updated (the run goes on): %s", str(error).splitlines()[0][:200])

    def _notify(self, ticker: str | None = None) -> None:
        for listener in _LISTENERS:
            listener(self.done, self.total, ticker)
