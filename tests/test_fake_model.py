"""The fake model server itself: wire shapes, caching simulation, admin routes, concurrency, CLI."""

from __future__ import annotations

import concurrent.futures
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.fake_model import create_app
from tests.fakes import FAKE_KEY, FakeServer, fake_model, fake_model_server, start  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
CHAT = {"model": "gpt-4.1-mini", "messages": [{"role": "system", "content": "S" * 400},
                                               {"role": "user", "content": "rules_signal: neutral 12.5"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "analyst_signal", "schema": {}}}}


def test_openai_wire_shape_and_simulated_cache(fake_model: FakeServer) -> None:
    headers = {"Authorization": f"Bearer {FAKE_KEY}"}
    first = httpx.post(f"{fake_model.url}/v1/chat/completions", json=CHAT, headers=headers).json()
    second = httpx.post(f"{fake_model.url}/v1/chat/completions", json=CHAT, headers=headers).json()
    assert first["choices"][0]["finish_reason"] == "stop"
    assert '"confidence": 12.5' in first["choices"][0]["message"]["content"]
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert second["usage"]["prompt_tokens_details"]["cached_tokens"] == 100  # 400 chars / 4
    assert fake_model.counters()["by_path"] == {"/v1/chat/completions": 2}


def test_missing_key_is_the_providers_401(fake_model: FakeServer) -> None:
    openai = httpx.post(f"{fake_model.url}/v1/chat/completions", json=CHAT)
    anthropic = httpx.post(f"{fake_model.url}/v1/messages", json={"messages": []})
    assert openai.status_code == anthropic.status_code == 401
    assert openai.json()["error"]["code"] == "invalid_api_key"
    assert anthropic.json()["error"]["type"] == "authentication_error"


def test_rate_limit_carries_retry_after(fake_model: FakeServer) -> None:
    fake_model.mode(next=["rate_limit"])
    response = httpx.post(f"{fake_model.url}/v1/messages", json={"messages": []}, headers={"x-api-key": "k"})
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_concurrent_requests_overlap() -> None:
    server = start(create_app(latency=0.5, jitter=0.2))
    try:
        headers = {"Authorization": f"Bearer {FAKE_KEY}"}
        with httpx.Client(limits=httpx.Limits(max_connections=300)) as http:
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(200) as pool:
                codes = list(pool.map(lambda _: http.post(f"{server.url}/v1/chat/completions", json=CHAT,
                                                          headers=headers, timeout=30).status_code, range(200)))
            elapsed = time.perf_counter() - started
        assert codes == [200] * 200
        assert elapsed < 5.0, f"200 requests of 0.5 s took {elapsed:.1f} s: the server serialises them"
        assert server.counters()["max_in_flight"] >= 50
    finally:
        server.stop()


def test_fault_rate_spreads_over_transient_kinds() -> None:
    server = start(create_app(fault_rate=0.5, seed=1, hang_s=0.01))
    try:
        headers = {"Authorization": f"Bearer {FAKE_KEY}"}
        statuses = set()
        for _ in range(60):
            try:
                statuses.add(httpx.post(f"{server.url}/v1/chat/completions", json=CHAT, headers=headers).status_code)
            except httpx.HTTPError:
                statuses.add(-1)  # a cut connection
        assert {200, 429, 500, 503} <= statuses
    finally:
        server.stop()


def test_cli_starts_a_server() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "bench.fake_model", "--port", str(port), "--latency", "0.01",
                                "--jitter", "0.2", "--fault-rate", "0.0"], cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/admin/counters").json()["calls"] == 0
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the CLI server did not start"
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)
