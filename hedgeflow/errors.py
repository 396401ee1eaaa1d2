"""The exception tree: every error Hedgeflow raises on purpose."""

from __future__ import annotations

__all__ = [
    "DataError",
    "DataUnavailableError",
    "HedgeflowError",
    "InvalidRequestError",
    "TransientDataError",
]


class HedgeflowError(Exception):
    """Base of every deliberate Hedgeflow error."""


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
