"""Checking a base URL a user typed: scheme, host and port, in one line naming what is wrong."""

from __future__ import annotations

from urllib.parse import urlsplit

from hedgeflow.errors import InvalidRequestError

__all__ = ["check_base_url"]


def check_base_url(url: str, what: str) -> str:
    """``url`` if it is http(s)://host[:port][/path] with a port in 1-65535; else InvalidRequestError naming ``what``."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port  # ValueError when not a number or outside 0-65535
    except ValueError:  # not a number, or outside 0-65535
        raise InvalidRequestError(f"bad {what} {url!r}: the port must be 1-65535") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidRequestError(f"bad {what} {url!r}: it must start with http:// or https://")
    if not parts.hostname:
        raise InvalidRequestError(f"bad {what} {url!r}: the host is missing")
    if port is not None and not 1 <= port <= 65535:
        raise InvalidRequestError(f"bad {what} {url!r}: the port must be 1-65535")
    return url.strip()
