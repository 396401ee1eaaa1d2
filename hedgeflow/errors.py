"""The exception tree: every error Hedgeflow raises on purpose."""

from __future__ import annotations

from typing import Any

__all__ = [
    "DataError",
    "DataUnavailableError",
    "HedgeflowError",
    "InvalidRequestError",
    "TransientDataError",
]


def _restore(cls: type[HedgeflowError], args: tuple[Any, ...], state: dict[str, Any]) -> HedgeflowError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class HedgeflowError(Exception):
    """Base of every deliberate Hedgeflow error.

    Every one pickles whatever its constructor's signature (keyword-only
    arguments included): errors cross process boundaries with task results
    when a task runs on a Dask worker.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return _restore, (type(self), self.args, self.__dict__)


class InvalidRequestError(HedgeflowError, ValueError):
    """Bad user input: unknown ticker or analyst, malformed or inverted dates."""


class DataError(HedgeflowError):
    """A provider cannot give the data asked for."""


class DataUnavailableError(DataError):
    """The ticker or date is outside what the provider has; the message names what it has."""


class TransientDataError(DataError):
    """A data API failed in a way worth retrying (429, 5xx, timeout)."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
