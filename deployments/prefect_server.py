"""The local Prefect server's process: ``prefect server start``, with SQLite lock conflicts retried inside it.

``python -m deployments.prefect_server --host H --port P`` runs Prefect's own
``server start`` command in this process, with one change: the app it serves
is wrapped in :class:`RetryLocked`. On SQLite, a write transaction that read
first fails at once with "database is locked" when another writer committed
meanwhile (waiting cannot help it), and Prefect answers ``503``; its client
then backs off 2, 4, 8, 16 and 32 s. Ten runs created at once collide exactly
so. :class:`RetryLocked` replays such a request in the server after a few tens
of milliseconds instead (the failed transaction was rolled back, so a replay
is what the client's retry would do), and passes the ``503`` on only when the
last attempt also fails. Reads, websockets and every other answer go through
untouched.

Started by :mod:`deployments.server_process`; imported only in that process.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["RetryLocked", "main"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

RETRIED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RetryLocked:
    """ASGI middleware: a write answered ``503`` is replayed up to ``attempts`` times, with a short jittered pause."""

    def __init__(self, app: ASGIApp, attempts: int = 8, pause_s: float = 0.02) -> None:
        self.app, self.attempts, self.pause_s = app, attempts, pause_s

    def __getattr__(self, name: str) -> Any:  # the wrapped app's attributes (state, routes) stay reachable
        return getattr(self.app, name)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in RETRIED_METHODS:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending its body
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        for attempt in range(self.attempts):
            answer, error = await self._once(scope, bytes(body), receive)
            status = next((m.get("status") for m in answer if m["type"] == "http.response.start"), None)
            if status != 503 or attempt == self.attempts - 1:
                break
            await asyncio.sleep(self.pause_s * (1 + attempt) * random.uniform(0.5, 1.5))
        for message in answer:
            await send(message)
        if error is not None:  # as Starlette does: the answer is sent, then the error goes on to be logged
            raise error

    async def _once(
        self, scope: MutableMapping[str, Any], body: bytes, receive: Receive
    ) -> tuple[list[Message], Exception | None]:
        """One pass through the app with the buffered body: its answer, held back, and the error it raised
        after answering (Starlette's error middleware sends Prefect's 503, then re-raises)."""
        sent_body = False
        answer: list[Message] = []

        async def replay() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: the real disconnect, when it comes

        async def hold(message: Message) -> None:
            answer.append(message)

        try:
            await self.app(scope, replay, hold)
        except Exception as exc:  # re-raised by the caller once the answer is sent
            if not any(m["type"] == "http.response.start" for m in answer):
                raise
            return answer, exc
        return answer, None


def main(argv: list[str] | None = None) -> None:
    """``prefect server start <argv>`` serving the app wrapped in :class:`RetryLocked`."""
    import prefect.server.api.server as server_module
    from prefect.cli import app as prefect_cli

    create_app = server_module.create_app

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return RetryLocked(create_app(*args, **kwargs))

    server_module.create_app = wrapped
    sys.argv = ["prefect", "server", "start", *(sys.argv[1:] if argv is None else argv)]
    prefect_cli()  # reads sys.argv


if __name__ == "__main__":
    main()
