"""Progress of a run's analysts: a Prefect progress artifact, and local listeners (the CLI's bar)."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

__all__ = ["Progress", "add_listener", "remove_listener"]

Listener = Callable[[int, int, str | None], None]  # (done, total, ticker of the analyst just finished)
_LISTENERS: list[Listener] = []
UPDATE_EVERY_S = 0.25  # the artifact is an API call: at most four a second


def add_listener(listener: Listener) -> None:
    _LISTENERS.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _LISTENERS:
        _LISTENERS.remove(listener)


class Progress:
    """Counts finished analyst task runs; created inside a flow run."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self._artifact: UUID | None = None
        self._last = 0.0

    async def start(self) -> None:
        self._artifact = await acreate_progress_artifact(0.0, key="analysts-progress", description="Analysts finished")
        self._notify()

    async def step(self, ticker: str | None = None) -> None:
        self.done += 1
        self._notify(ticker)
        now = time.monotonic()
        if self._artifact is not None and (self.done == self.total or now - self._last >= UPDATE_EVERY_S):
            self._last = now
            await aupdate_progress_artifact(self._artifact, 100.0 * self.done / max(1, self.total),
                                            description=f"{self.done} of {self.total} analysts finished")

    def _notify(self, ticker: str | None = None) -> None:
        for listener in list(_LISTENERS):
            listener(self.done, self.total, ticker)
