"""The live provider: SEC EDGAR company facts and Form 4s, keyless daily prices and RSS headlines.

Free and keyless; SEC asks for a declared User-Agent (``HEDGEFLOW_SEC_USER_AGENT``).
"""

from __future__ import annotations

from hedgeflow.data.live.calendar import last_completed_session
from hedgeflow.data.live.http import LocalRateLimiter, RateLimiter
from hedgeflow.data.live.provider import LiveProvider
from hedgeflow.data.live.sec import Company
from hedgeflow.data.live.settings import LiveSettings, UserAgentError, check_user_agent

__all__ = [
    "Company",
    "LiveProvider",
    "LiveSettings",
    "LocalRateLimiter",
    "RateLimiter",
    "UserAgentError",
    "check_user_agent",
    "last_completed_session",
]
