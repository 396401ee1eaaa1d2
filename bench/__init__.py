"""The A/B benchmark and the fake servers it drives.

The fakes speak the real wire protocols (OpenAI, Anthropic, financialdatasets.ai)
so the real SDK and HTTP code runs against them. What they share lives here:
latency with jitter, fault injection, counters, the /admin routes and a way to
serve an app in a background thread. FastAPI and uvicorn load only when used.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["TRANSIENT_FAULTS", "FakeState", "add_admin_routes", "fault_mix", "run_cli", "serve_in_thread"]

# faults a retry can cure; --fault-rate spreads over these
TRANSIENT_FAULTS: tuple[str, ...] = ("rate_limit", "server_error", "overloaded", "timeout", "disconnect")


def fault_mix(fault_rate: float = 0.0, faults: Mapping[str, float] | None = None) -> dict[str, float]:
    """kind -> probability: ``faults`` as given, plus ``fault_rate`` spread evenly over the transient kinds."""
    mix = {kind: 0.0 for kind in TRANSIENT_FAULTS}
    for kind in TRANSIENT_FAULTS:
        mix[kind] += fault_rate / len(TRANSIENT_FAULTS)
    for kind, rate in (faults or {}).items():
        mix[kind] = mix.get(kind, 0.0) + rate
    if sum(mix.values()) > 1.0 + 1e-9:
        raise ValueError(f"fault rates add up to more than 1: {mix}")
    return {kind: rate for kind, rate in mix.items() if rate > 0}


class FakeState:
    """Mutable state of one fake server; touched only on its event loop thread."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        jitter: float = 0.0,
        fault_rate: float = 0.0,
        faults: Mapping[str, float] | None = None,
        seed: int | None = 0,
        hang_s: float = 90.0,
        retry_after_s: float = 1.0,
    ) -> None:
        self.latency, self.jitter, self.hang_s, self.retry_after_s = latency, jitter, hang_s, retry_after_s
        self.faults = fault_mix(fault_rate, faults)
        self.rng = random.Random(seed)
        self.queue: deque[str] = deque()  # faults forced on the next calls, for deterministic tests
        self.outage = False
        self.status: int | None = None
        self.counters: Counter[str] = Counter()
        self.by_path: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    async def delay(self) -> None:
        """Sleep the configured latency (+- jitter, as a fraction); concurrent requests overlap."""
        if self.latency <= 0:
            return
        spread = self.latency * self.jitter
        await asyncio.sleep(max(0.0, self.latency + self.rng.uniform(-spread, spread)))

    def next_fault(self) -> str | None:
        if self.queue:
            return self.queue.popleft()
        draw, edge = self.rng.random(), 0.0
        for kind, rate in self.faults.items():
            edge += rate
            if draw < edge:
                return kind
        return None

    def record(self, path: str, status: int, **tokens: int) -> None:
        self.counters["calls"] += 1
        self.by_path[path] += 1
        self.by_status[str(status)] += 1
        for name, value in tokens.items():
            self.counters[name] += value

    def apply_mode(self, body: Mapping[str, Any]) -> None:
        """``{"outage": bool, "status": int | null, "next": [fault kinds], "latency": s, "reset": true}``."""
        if body.get("reset"):
            self.outage, self.status = False, None
            self.queue.clear()
        if "outage" in body:
            self.outage = bool(body["outage"])
        if "status" in body:
            self.status = None if body["status"] in (None, 0, 200) else int(body["status"])
        if "next" in body:
            self.queue.extend(str(kind) for kind in body["next"])
        if "latency" in body:
            self.latency = float(body["latency"])
        if "fault_rate" in body or "faults" in body:
            self.faults = fault_mix(float(body.get("fault_rate", 0.0)), body.get("faults"))

    def reset_counters(self) -> None:
        self.counters.clear()
        self.by_path.clear()
        self.by_status.clear()
        self.max_in_flight = self.in_flight

    def snapshot(self) -> dict[str, Any]:
        return {
            **{k: 0 for k in ("calls", "input_tokens", "output_tokens", "cached_tokens")},
            **dict(self.counters),
            "by_path": dict(self.by_path),
            "by_status": dict(self.by_status),
            "max_in_flight": self.max_in_flight,
            "mode": {"outage": self.outage, "status": self.status, "queued": list(self.queue)},
        }


def add_admin_routes(app: FastAPI, state: FakeState) -> None:
    """GET /admin/counters, POST /admin/reset and POST /admin/mode; also count requests in flight."""
    from fastapi import Body

    inner = app.build_middleware_stack  # count in flight with a plain ASGI wrapper (no body buffering)

    def build() -> Any:
        stack = inner()

        async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                return await stack(scope, receive, send)
            state.in_flight += 1
            state.max_in_flight = max(state.max_in_flight, state.in_flight)
            try:
                await stack(scope, receive, send)
            finally:
                state.in_flight -= 1

        return counted

    app.build_middleware_stack = build  # type: ignore[method-assign]

    @app.get("/admin/counters")
    async def counters() -> dict[str, Any]:
        return state.snapshot()

    @app.post("/admin/reset")
    async def reset() -> dict[str, Any]:
        state.reset_counters()
        state.apply_mode({"reset": True})
        return state.snapshot()

    @app.post("/admin/mode")
    async def mode(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:  # noqa: B008
        state.apply_mode(body)
        return state.snapshot()


def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` on a background thread; returns its base URL and a ``stop()`` that waits for shutdown."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1, backlog=4096)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"fake-{bound_port}")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"fake server on port {bound_port} did not start")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

    return f"http://{host}:{bound_port}", stop


def _faults_arg(text: str) -> dict[str, float]:
    pairs = (item.split("=", 1) for item in text.split(",") if item.strip())
    return {kind.strip(): float(rate) for kind, rate in pairs}


def run_cli(create_app: Callable[..., FastAPI], description: str, argv: list[str] | None = None) -> None:
    """``python -m bench.fake_model --port P --latency 2.0 --jitter 0.2 --fault-rate 0.2``."""
    import uvicorn

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--jitter", type=float, default=0.0, help="latency spread as a fraction, e.g. 0.2")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of calls failing transiently")
    parser.add_argument("--faults", type=_faults_arg, default=None, help="extra kinds, e.g. malformed=0.05,garbage=0.01")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    app = create_app(latency=args.latency, jitter=args.jitter, fault_rate=args.fault_rate,
                     faults=args.faults, seed=args.seed)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", backlog=4096,
                timeout_graceful_shutdown=1)
