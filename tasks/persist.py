"""The persist task: the whole run in one transaction, retried while the database is away."""

from __future__ import annotations

import logging

from prefect import task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from blocks.database import HedgeflowDatabase
from hedgeflow import unwritten
from hedgeflow.schemas import RunResult
from hedgeflow.store import database_url, get_engine, persist_run, safe_url

__all__ = ["PersistError", "keep_unwritten", "persist_run_task"]


class PersistError(RuntimeError):
    """The run could not be written; the message names the run and the database, never a password."""


class _HandledByTheFlow(logging.Filter):
    """A PersistError is the flow's to report (one line, the run kept as JSON): Prefect's record of it
    becomes INFO without the traceback, so the console shows it only with ``--verbose``."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, PersistError) or "PersistError" in str(record.msg):
            record.levelno, record.levelname, record.exc_info, record.exc_text = logging.INFO, "INFO", None, None
        return True


logging.getLogger("prefect.task_runs").addFilter(_HandledByTheFlow())


def _reason(exc: BaseException, url: str) -> str:
    """The driver's own first line (not SQLAlchemy's, which carries the statement and its rows), password masked."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    reason = f"{type(cause).__name__}: {lines[0] if lines else 'no message'}"
    password = make_url(url).password
    return reason.replace(str(password), "***") if password else reason


# NO_CACHE: a write must happen every time it is asked for; persist_result keeps the outcome in Prefect's storage.
@task(name="persist", retries=3, retry_delay_seconds=[1, 2, 4], persist_result=True, cache_policy=NO_CACHE)
def persist_run_task(result: RunResult, database: HedgeflowDatabase | None = None) -> bool:
    """Write ``result`` (runs, signals, orders) in one transaction; True when new, False when it replaced a copy.

    The database is the block's URL, else HEDGEFLOW_DATABASE_URL, else the local
    SQLite file. Database errors raise PersistError, which Prefect retries. Once
    written, runs kept earlier while the database was away are written too.
    """
    url = database.get_url() if database is not None else database_url()
    try:
        engine = get_engine(url)
        new = persist_run(engine, result)
        unwritten.replay(engine)
        return new
    except SQLAlchemyError as exc:
        raise PersistError(f"could not persist run {result.run_id} to {safe_url(url)}: {_reason(exc, url)}") from None


@task(name="keep-unwritten", cache_policy=NO_CACHE)
async def keep_unwritten(result: RunResult, why: str) -> RunResult:
    """The database did not take ``result``: keep it as JSON and say so in the result."""
    path = unwritten.keep(result)
    return result.model_copy(update={"persist_error": why.removeprefix("PersistError: "), "saved_to": str(path)})
