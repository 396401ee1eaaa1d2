"""The live market-data provider's settings as a Prefect Block, edited in the Prefect UI.

A deployment's workers rarely share a shell: the SEC User-Agent and the
service URLs live here instead of in each worker's environment. ``make
deploy`` saves a ``default`` document; fill in the User-Agent there, or save
another and run with ``data_provider="block:<name>"``.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field

from hedgeflow.data.live.settings import (
    DEFAULT_NEWS_URL,
    DEFAULT_PRICES_URL,
    DEFAULT_SEC_DATA_URL,
    DEFAULT_SEC_WWW_URL,
    LiveSettings,
    check_user_agent,
)

__all__ = ["HedgeflowDataProvider"]


class HedgeflowDataProvider(Block):
    """Where the live provider gets SEC EDGAR facts and Form 4s, daily prices and headlines, and who it says it is.

    Attributes:
        sec_user_agent: Your name and e-mail, declared to SEC on every request.
        sec_data_url: Base URL of data.sec.gov.
        sec_www_url: Base URL of www.sec.gov.
        prices_url: Base URL of the keyless v8 chart endpoint.
        news_url: Base URL of the keyless RSS headline feed.
        sec_requests_per_s: SEC requests per second across every worker.

    Example:
        ```python
        from blocks.data_provider import HedgeflowDataProvider

        settings = HedgeflowDataProvider.load("BLOCK_NAME").settings()
        ```
    """

    _block_type_name = "Hedgeflow Data Provider"
    _block_type_slug = "hedgeflow-data-provider"
    _documentation_url = "https://www.sec.gov/search-filings/edgar-search-assistance/accessing-edgar-data"  # type: ignore[assignment]

    sec_user_agent: str | None = Field(
        default=None,
        title="SEC User-Agent",
        description='Your name and e-mail, e.g. "Jane Doe jane@example.com" (SEC requires one); '
        "empty for HEDGEFLOW_SEC_USER_AGENT.",
    )
    sec_data_url: str = Field(default=DEFAULT_SEC_DATA_URL, description="data.sec.gov: company facts and submissions.")
    sec_www_url: str = Field(default=DEFAULT_SEC_WWW_URL, description="www.sec.gov: the ticker list and Form 4 archives.")
    prices_url: str = Field(default=DEFAULT_PRICES_URL, description="Host of the keyless v8 chart endpoint.")
    news_url: str = Field(default=DEFAULT_NEWS_URL, description="Host of the keyless RSS headline feed.")
    sec_requests_per_s: float = Field(
        default=9.0, gt=0, le=10.0, description="SEC requests per second across every worker (SEC allows 10)."
    )

    def block_initialization(self) -> None:
        """Reject a User-Agent without a name and an e-mail when the block is made, not at the first request."""
        if self.sec_user_agent and self.sec_user_agent.strip():
            check_user_agent(self.sec_user_agent)

    def settings(self) -> LiveSettings:
        """The plain settings the live provider takes; the environment's User-Agent fills an empty one."""
        return LiveSettings.from_env(
            sec_user_agent=self.sec_user_agent, sec_data_url=self.sec_data_url, sec_www_url=self.sec_www_url,
            prices_url=self.prices_url, news_url=self.news_url,
        ).model_copy(update={"sec_requests_per_s": self.sec_requests_per_s})
