"""Everything that may cross a process boundary (a Dask worker and back) pickles: errors, setups, lock managers."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from pathlib import Path

import pytest

import hedgeflow
from hedgeflow.breaker import BreakerKey, BreakerOpenError
from hedgeflow.errors import DataError, DataUnavailableError, HedgeflowError, InvalidRequestError, TransientDataError
from hedgeflow.llm.errors import (
    ModelAPIError,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelOutputError,
    ModelTimeoutError,
)
from hedgeflow.schemas import ModelUsage

M = {"provider": "openai", "model": "gpt-x"}


def _output_error() -> ModelOutputError:
    error = ModelOutputError("unreadable", **M)
    error.usage = ModelUsage(calls=1, input_tokens=10)
    return error


# One example of every exception class hedgeflow defines, with its constructor's keyword-only arguments.
EXAMPLES: dict[type[BaseException], BaseException] = {
    HedgeflowError: HedgeflowError("base"),
    InvalidRequestError: InvalidRequestError("bad ticker"),
    DataError: DataError("no data"),
    DataUnavailableError: DataUnavailableError("outside the data"),
    TransientDataError: TransientDataError("HTTP 429", retry_after_s=2.0),
    ModelError: ModelError("failed", **M),
    ModelAPIError: ModelAPIError("HTTP 529", status_code=529, retry_after_s=1.5, **M),
    ModelAuthError: ModelAuthError("HTTP 401", status_code=401, **M),
    ModelTimeoutError: ModelTimeoutError("timeout", **M),
    ModelConnectionError: ModelConnectionError("reset", **M),
    ModelOutputError: _output_error(),
    BreakerOpenError: BreakerOpenError(BreakerKey("openai", "gpt-x"), "open", 2.5),
}


def _defined_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for info in pkgutil.walk_packages(hedgeflow.__path__, "hedgeflow."):
        if "store_migrations" in info.name:
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__.startswith("hedgeflow"):
                found.add(value)
    return found


def test_every_other_exception_class_pickles_from_a_message() -> None:
    """Classes without an example must be buildable from a message alone, and pickle too."""
    for cls in _defined_exceptions() - set(EXAMPLES):
        try:
            error = cls("why it failed")
        except TypeError:
            pytest.fail(f"add an example of {cls.__name__} to EXAMPLES: it needs more than a message")
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.__dict__) == (cls, "why it failed", error.__dict__)


@pytest.mark.parametrize("error", list(EXAMPLES.values()), ids=[c.__name__ for c in EXAMPLES])
def test_every_exception_survives_a_pickling_round_trip(error: BaseException) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__  # provider, model, status_code, retry_after_s, usage, state ...


def test_a_transient_error_stays_transient_after_pickling() -> None:
    from hedgeflow.retry import error_kind, is_transient

    error = pickle.loads(pickle.dumps(EXAMPLES[ModelAPIError]))
    assert is_transient(error) and error_kind(error) == "overloaded"


def test_a_run_setup_and_the_lock_managers_pickle(tmp_path: Path) -> None:
    from blocks.breaker import CircuitBreakerBlock
    from blocks.locking import AtomicFileLockManager
    from blocks.redis_locking import ExpiringRedisLockManager
    from tasks.model_calls import ModelSetup

    setup = ModelSetup(model="openai:gpt-x", breaker=CircuitBreakerBlock(failure_threshold=2))
    assert pickle.loads(pickle.dumps(setup)) == setup
    files = pickle.loads(pickle.dumps(AtomicFileLockManager(lock_files_directory=tmp_path)))
    assert files.acquire_lock("k", "holder") and files.is_lock_holder("k", "holder")
    files.release_lock("k", "holder")
    redis = pickle.loads(pickle.dumps(ExpiringRedisLockManager(connection_url="redis://127.0.0.1:1/2")))
    assert redis.connection_url == "redis://127.0.0.1:1/2"


def _tasks_and_flows() -> list[tuple[str, object]]:
    from prefect import Flow, Task

    import flows
    import tasks

    found: list[tuple[str, object]] = []
    for package in (tasks, flows):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found += [(f"{module.__name__}.{name}", value) for name, value in vars(module).items()
                      if isinstance(value, (Task, Flow)) and getattr(value.fn, "__module__", None) == module.__name__]
    return found


def test_every_task_and_flow_pickles_by_value_as_a_dask_worker_receives_it() -> None:
    """A task's function is not importable under its own name (the name holds the Task), so cloudpickle
    copies it by value with every global it reads: a global holding a lock (e.g. blocks.cache.MEMORY)
    makes the task unusable on a DaskTaskRunner. Read such globals in module-level helpers instead."""
    import cloudpickle

    found = _tasks_and_flows()
    assert len(found) >= 10  # the scan sees the tasks and flows
    for name, value in found:
        try:
            cloudpickle.dumps(value)
        except Exception as exc:  # noqa: BLE001 - the message names the culprit
            pytest.fail(f"{name} does not pickle: {exc}")
