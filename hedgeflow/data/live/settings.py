"""Where the live provider's services are and who it says it is.

SEC's fair-access rule: every automated request declares a User-Agent with a
name and an e-mail address; without one SEC answers 403. So the setting is
required and checked before any request, with a one-line error naming the fix.
"""

from __future__ import annotations

import os
import re

from pydantic import BaseModel, ConfigDict, Field

from hedgeflow.errors import DataError

__all__ = [
    "DEFAULT_NEWS_URL",
    "DEFAULT_PRICES_URL",
    "DEFAULT_SEC_DATA_URL",
    "DEFAULT_SEC_WWW_URL",
    "LiveSettings",
    "UserAgentError",
    "check_user_agent",
]

DEFAULT_SEC_DATA_URL = "https://data.sec.gov"
DEFAULT_SEC_WWW_URL = "https://www.sec.gov"
DEFAULT_PRICES_URL = "https://query2.finance.yahoo.com"
DEFAULT_NEWS_URL = "https://feeds.finance.yahoo.com"
USER_AGENT_VARIABLE = "HEDGEFLOW_SEC_USER_AGENT"
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


class UserAgentError(DataError, ValueError):
    """The SEC User-Agent setting is missing or lacks a name and an e-mail."""


def check_user_agent(value: str | None) -> str:
    """``value`` stripped, or UserAgentError: SEC wants a name and an e-mail, e.g. "Jane Doe jane@example.com"."""
    text = (value or "").strip()
    email = _EMAIL.search(text)
    name = _EMAIL.sub("", text).strip(" <>()[],;")
    if not email or not name:
        raise UserAgentError(
            f"the live provider needs {USER_AGENT_VARIABLE} set to your name and e-mail, "
            'e.g. "Jane Doe jane@example.com" (SEC\'s rule for automated access)'
        )
    return text


class LiveSettings(BaseModel):
    """The live provider's configuration: a plain value, built from the environment or a block."""

    model_config = ConfigDict(frozen=True)

    sec_user_agent: str = Field(description='Name and e-mail SEC requires, e.g. "Jane Doe jane@example.com".')
    sec_data_url: str = Field(default=DEFAULT_SEC_DATA_URL, description="data.sec.gov: company facts, submissions.")
    sec_www_url: str = Field(default=DEFAULT_SEC_WWW_URL, description="www.sec.gov: ticker list, Form 4 archives.")
    prices_url: str = Field(default=DEFAULT_PRICES_URL, description="The keyless v8 chart endpoint's host.")
    news_url: str = Field(default=DEFAULT_NEWS_URL, description="The keyless RSS headline feed's host.")
    # SEC allows 10 per second; 9 leaves room for network jitter bunching requests on arrival
    sec_requests_per_s: float = Field(default=9.0, gt=0, le=10.0, description="SEC requests per second, every worker.")
    timeout_s: float = Field(default=30.0, gt=0, description="Read timeout of one request.")

    @classmethod
    def from_env(cls, **overrides: str | None) -> LiveSettings:
        """Settings from HEDGEFLOW_SEC_* / HEDGEFLOW_PRICES_URL / HEDGEFLOW_NEWS_URL; ``overrides`` win when set."""
        env = {
            "sec_user_agent": os.environ.get(USER_AGENT_VARIABLE),
            "sec_data_url": os.environ.get("HEDGEFLOW_SEC_DATA_URL"),
            "sec_www_url": os.environ.get("HEDGEFLOW_SEC_WWW_URL"),
            "prices_url": os.environ.get("HEDGEFLOW_PRICES_URL"),
            "news_url": os.environ.get("HEDGEFLOW_NEWS_URL"),
        }
        env.update({k: v for k, v in overrides.items() if v})
        values = {k: v.strip().rstrip("/") for k, v in env.items() if v and v.strip()}
        values["sec_user_agent"] = check_user_agent(env["sec_user_agent"])
        return cls.model_validate(values)
