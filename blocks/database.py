"""The results database as a Prefect Block: where every run is written.

prefect-sqlalchemy's ``SqlAlchemyConnector`` was considered and not used: its
``connection_info`` is required (no offline SQLite default when unset), a URL
given as a string is stored and shown as plain text (only the components form
keeps the password secret), and it builds and caches its own engine per block
instance, without ``pool_pre_ping`` and outside ``hedgeflow.store``'s migrations.
Hedgeflow needs one secret URL that falls back to ``HEDGEFLOW_DATABASE_URL``
or the local SQLite file, and leaves engines, schema and pooling to the store.
"""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hedgeflow.store import database_url, safe_url

__all__ = ["HedgeflowDatabase"]


class HedgeflowDatabase(Block):
    """Where Hedgeflow writes its runs, signals and orders: PostgreSQL, or the local SQLite file when empty.

    Attributes:
        url: SQLAlchemy URL of the results database, kept secret because it may hold a password.

    Example:
        ```python
        from blocks.database import HedgeflowDatabase

        database = HedgeflowDatabase.load("BLOCK_NAME")
        url = database.get_url()
        ```
    """

    _block_type_name = "Hedgeflow Database"
    _block_type_slug = "hedgeflow-database"
    _documentation_url = "https://docs.sqlalchemy.org/en/20/core/engines.html#database-urls"  # type: ignore[assignment]

    url: SecretStr | None = Field(
        default=None,
        title="Database URL",
        description=(
            "SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host:5432/hedgeflow; "
            "empty for HEDGEFLOW_DATABASE_URL or the local SQLite file."
        ),
    )

    def block_initialization(self) -> None:
        """Reject a malformed URL when the block is made, not at the end of a run."""
        if self.url is None or not self.url.get_secret_value().strip():
            return
        try:
            make_url(self.url.get_secret_value().strip())
        except ArgumentError:
            raise ValueError("the Hedgeflow Database url is not a SQLAlchemy URL (dialect+driver://...)") from None

    def get_url(self) -> str:
        """The plain URL to connect with: the block's, else ``hedgeflow.store.database_url()``."""
        if self.url is not None and self.url.get_secret_value().strip():
            return self.url.get_secret_value().strip()
        return database_url()

    def display_url(self) -> str:
        """The URL with its password masked, for logs and the UI."""
        return safe_url(self.get_url())
