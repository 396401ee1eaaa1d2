"""Model errors: what went wrong with a model call, and whether retrying can help.

The task layer retries on ``transient`` and falls back to the rules signal
otherwise. Messages name the provider and model, never the API key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from hedgeflow.errors import HedgeflowError
from hedgeflow.schemas import ModelUsage

__all__ = [
    "ModelAPIError",
    "ModelAuthError",
    "ModelConnectionError",
    "ModelError",
    "ModelOutputError",
    "ModelTimeoutError",
    "error_for_status",
    "retry_after_seconds",
    "scrub",
    "sdk_error",
]

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


class ModelError(HedgeflowError):
    """Base of every model-call failure; ``kind`` is the breaker's name for it (None: says nothing of health)."""

    transient: bool = False
    kind: str | None = None
    usage: ModelUsage | None = None  # tokens billed before it failed (an answer off the schema), if any

    def __init__(self, message: str, *, provider: str, model: str) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model


class ModelAPIError(ModelError):
    """The API answered with an error status; 429, 5xx and 529 are worth a retry."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        status_code: int,
        retry_after_s: float | None = None,
        transient: bool | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model)
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.transient = status_code in TRANSIENT_STATUSES if transient is None else transient

    @property
    def kind(self) -> str | None:  # type: ignore[override]  # rate_limit, overloaded, server_error, or None
        if self.status_code == 429:
            return "rate_limit"
        if self.status_code in (503, 529):
            return "overloaded"
        return "server_error" if self.status_code >= 500 else None


class ModelAuthError(ModelAPIError):
    """The provider refused the credentials (401/403) or none were configured."""

    def __init__(self, message: str, *, provider: str, model: str, status_code: int = 401) -> None:
        super().__init__(message, provider=provider, model=model, status_code=status_code, transient=False)


class ModelTimeoutError(ModelError):
    """No answer within the read timeout."""

    transient = True
    kind = "timeout"


class ModelConnectionError(ModelError):
    """The connection failed or was cut before a full answer arrived."""

    transient = True
    kind = "connection"


class ModelOutputError(ModelError):
    """The answer did not match the output schema, even after one repair.

    ``usage`` keeps the tokens of the failed answer: they were billed all the same.
    """


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if (ms := lowered.get("retry-after-ms")) is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(when.tzinfo or dt.UTC)).total_seconds())


def scrub(text: str, secret: str | None) -> str:
    """``text`` without ``secret``: error bodies may echo the key back."""
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return text


def error_for_status(
    *,
    provider: str,
    model: str,
    status_code: int,
    headers: Mapping[str, str],
    detail: str,
    api_key: str | None,
) -> ModelAPIError:
    """The ModelAPIError for an HTTP error answer; auth failures say where the key comes from."""
    if status_code in (401, 403):
        return ModelAuthError(
            f"{provider} rejected the credentials for model {model} (HTTP {status_code}); "
            f"check the {provider} API key in the environment or the model block",
            provider=provider,
            model=model,
            status_code=status_code,
        )
    retry_after = retry_after_seconds(headers)
    detail = scrub(detail, api_key)[:300]
    wait = f" (retry after {retry_after:g}s)" if retry_after is not None else ""
    return ModelAPIError(
        f"{provider} {model}: HTTP {status_code} {detail}{wait}",
        provider=provider,
        model=model,
        status_code=status_code,
        retry_after_s=retry_after,
    )


def _body_detail(body: object) -> str:
    """``type: message`` (or ``code: message``) from either provider's error body."""
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            kind = error.get("code") or error.get("type") or ""
            return f"{kind}: {error.get('message', '')}".strip(": ")
    return ""


def sdk_error(exc: Exception, sdk: Any, *, provider: str, model: str, api_key: str) -> ModelError:
    """The ModelError for an anthropic or openai SDK error (both name their classes alike).

    The SDK exception itself is dropped, so its text cannot leak a key.
    """
    name = f"{provider} {model}"
    if isinstance(exc, sdk.APITimeoutError):
        return ModelTimeoutError(f"{name}: no answer within the read timeout", provider=provider, model=model)
    if isinstance(exc, sdk.APIConnectionError):
        return ModelConnectionError(f"{name}: connection failed ({type(exc).__name__})", provider=provider, model=model)
    if isinstance(exc, sdk.APIStatusError):
        return error_for_status(
            provider=provider,
            model=model,
            status_code=exc.status_code,
            headers=dict(exc.response.headers),
            detail=_body_detail(exc.body) or exc.message,
            api_key=api_key,
        )
    return ModelOutputError(f"{name}: unreadable answer ({type(exc).__name__})", provider=provider, model=model)
