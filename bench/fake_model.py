"""A fake model server speaking the OpenAI chat-completions and Anthropic Messages protocols.

It answers deterministically by echoing the prompt's ``rules_signal`` /
``rules_decision`` lines, counts tokens from text length (4 characters a
token), simulates prompt caching of a system text seen before, and injects
the providers' real failures: 429 with Retry-After, 500, 529/503 overload,
401, read timeouts, cut connections, prose around JSON, fences, truncation.
A request whose client hangs up before the answer (a read timeout, a hedge's
cancelled loser) is recorded with status 499 and no tokens: nothing was sent.

    python -m bench.fake_model --port 8101 --latency 2.0 --jitter 0.2 --fault-rate 0.2
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bench import FakeState, add_admin_routes, run_cli
from hedgeflow.llm.prompts import echo_answer

__all__ = ["create_app", "tokens"]

OPENAI_ERRORS: dict[str, tuple[int, str, str | None, str]] = {  # kind -> status, type, code, message
    "rate_limit": (429, "requests", "rate_limit_exceeded",
                   "Rate limit reached for requests per min (RPM). Please try again in 1s."),
    "server_error": (500, "server_error", None,
                     "The server had an error while processing your request. Sorry about that!"),
    "overloaded": (503, "server_error", None, "The engine is currently overloaded, please try again later."),
    "forbidden": (403, "invalid_request_error", "unsupported_country_region_territory",
                  "Country, region, or territory not supported"),
}
ANTHROPIC_ERRORS: dict[str, tuple[int, str, str]] = {  # kind -> status, type, message
    "rate_limit": (429, "rate_limit_error", "This request would exceed the rate limit for your organization."),
    "server_error": (500, "api_error", "Internal server error"),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "unauthorized": (401, "authentication_error", "invalid x-api-key"),
    "forbidden": (403, "permission_error", "Your API key does not have permission to use the specified resource."),
}
CLIENT_CLOSED = 499  # recorded (nginx's code) for a request the client hung up on before its answer
STATUS_KIND = {401: "unauthorized", 403: "forbidden", 429: "rate_limit", 500: "server_error",
               503: "overloaded", 529: "overloaded"}


async def _client_gone(request: Request) -> None:
    """Returns when the client closes the connection (the ASGI server's http.disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _unless_hung_up(request: Request, pause: Awaitable[None]) -> bool:
    """Await ``pause`` unless the client hangs up first; True when it did."""
    gone, paused = asyncio.ensure_future(_client_gone(request)), asyncio.ensure_future(pause)
    done, _ = await asyncio.wait({gone, paused}, return_when=asyncio.FIRST_COMPLETED)
    for task in (gone, paused):
        task.cancel()
    return gone in done


def tokens(text: str) -> int:
    """Deterministic token count: four characters a token, at least one."""
    return max(1, len(text) // 4)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def _render(answer: dict[str, Any], fault: str | None) -> tuple[str, bool]:
    """The answer text for a fault kind, and whether it was cut short."""
    body = json.dumps(answer)
    if fault == "malformed":
        return f"Sure! Here is my answer:\n```json\n{body}\n```\nLet me know if you need more.", False
    if fault == "malformed_text":
        return f"My answer: {body} -- hope that helps.", False
    if fault == "garbage":
        return "I am unable to provide investment advice.", False
    if fault == "truncated":
        return body[: len(body) // 2], True
    return body, False


class _QuietCuts(logging.Filter):
    """Drop uvicorn's report of the connections this fake cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (exc is not None and "Too little data for declared Content-Length" in str(exc))


logging.getLogger("uvicorn.error").addFilter(_QuietCuts())


class _Seen:
    """System texts seen before: the next call reads them from the (simulated) prompt cache."""

    def __init__(self) -> None:
        self.digests: set[str] = set()

    def check(self, provider: str, system: str) -> bool:
        digest = hashlib.sha256(f"{provider}\0{system}".encode()).hexdigest()
        seen = digest in self.digests
        self.digests.add(digest)
        return seen


def create_app(
    *,
    latency: float = 0.0,
    jitter: float = 0.0,
    fault_rate: float = 0.0,
    faults: Mapping[str, float] | None = None,
    seed: int | None = 0,
    hang_s: float = 90.0,
    retry_after_s: float = 1.0,
) -> FastAPI:
    """The fake model app; ``app.state.fake`` is its FakeState (counters, mode)."""
    app = FastAPI(title="fake model server")
    state = FakeState(latency=latency, jitter=jitter, fault_rate=fault_rate, faults=faults, seed=seed,
                      hang_s=hang_s, retry_after_s=retry_after_s)
    app.state.fake = state
    seen = _Seen()
    add_admin_routes(app, state)

    def failure(path: str, provider: str, kind: str, api_key: str) -> Response:
        headers = {"retry-after": f"{state.retry_after_s:g}"} if kind == "rate_limit" else {}
        body: dict[str, Any]
        if provider == "openai":
            if kind == "unauthorized":
                masked = f"{api_key[:3]}{'*' * 8}{api_key[-4:]}" if len(api_key) > 8 else "****"
                status, body = 401, {"error": {
                    "message": f"Incorrect API key provided: {masked}. You can find your API key at "
                               "https://platform.openai.com/account/api-keys.",
                    "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
            else:
                status, kind_type, code, message = OPENAI_ERRORS[kind]
                body = {"error": {"message": message, "type": kind_type, "param": None, "code": code}}
            headers["x-request-id"] = f"req_fake_{state.counters['calls']}"
        else:
            status, kind_type, message = ANTHROPIC_ERRORS[kind]
            body = {"type": "error", "error": {"type": kind_type, "message": message},
                    "request_id": f"req_fake_{state.counters['calls']}"}
        state.record(path, status)
        return JSONResponse(body, status_code=status, headers=headers)

    async def gate(request: Request, provider: str, key: str) -> Response | str | None:
        """An early error response, the fault kind to inject, or None for a clean answer."""
        path = request.url.path
        if not key:
            return failure(path, provider, "unauthorized", key)
        if state.status is not None:
            return failure(path, provider, STATUS_KIND.get(state.status, "server_error"), key)
        if state.outage:
            return failure(path, provider, "server_error" if provider == "openai" else "overloaded", key)
        if await _unless_hung_up(request, state.delay()):
            return closed(path)
        fault = state.next_fault()
        if fault in ("rate_limit", "server_error", "overloaded"):
            return failure(path, provider, fault, key)
        if fault == "timeout" and await _unless_hung_up(request, asyncio.sleep(state.hang_s)):
            return closed(path)  # hung past the client's read timeout, or its hedge won
        return fault

    def closed(path: str) -> Response:
        """The client hung up before an answer (a read timeout, a cancelled hedge): nothing sent, nothing billed."""
        state.record(path, CLIENT_CLOSED)
        return Response(status_code=CLIENT_CLOSED)

    def cut(body: bytes, path: str) -> Response:
        """Declare the full length, send half: the client sees the connection drop mid-body."""
        state.record(path, 200)
        return Response(body[: len(body) // 2], media_type="application/json",
                        headers={"content-length": str(len(body))})

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        payload = await request.json()
        outcome = await gate(request, "openai", auth.removeprefix("Bearer ").strip())
        if isinstance(outcome, Response):
            return outcome
        messages = payload.get("messages", [])
        system = "".join(_text(m.get("content")) for m in messages if m.get("role") in ("system", "developer"))
        user = "\n".join(_text(m.get("content")) for m in messages if m.get("role") not in ("system", "developer"))
        schema = ((payload.get("response_format") or {}).get("json_schema") or {})
        text, truncated = _render(echo_answer(schema.get("name", "answer"), user), outcome)
        cached = tokens(system) if seen.check("openai", system) else 0
        prompt, completion = tokens(system) + tokens(user), tokens(text)
        body = {
            "id": f"chatcmpl-fake{state.counters['calls']}", "object": "chat.completion",
            "created": int(time.time()), "model": payload.get("model", "fake"), "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "logprobs": None, "finish_reason": "length" if truncated else "stop",
                         "message": {"role": "assistant", "content": text, "refusal": None}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}},
        }
        if outcome == "disconnect":
            return cut(json.dumps(body).encode(), request.url.path)
        state.record(request.url.path, 200, input_tokens=prompt, output_tokens=completion, cached_tokens=cached)
        return JSONResponse(body)

    @app.post("/v1/messages")
    async def messages(request: Request) -> Response:
        key = request.headers.get("x-api-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        payload = await request.json()
        outcome = await gate(request, "anthropic", key.strip())
        if isinstance(outcome, Response):
            return outcome
        raw_system = payload.get("system", "")
        system = _text(raw_system)
        cacheable = isinstance(raw_system, list) and any(isinstance(b, dict) and b.get("cache_control")
                                                         for b in raw_system)
        user = "\n".join(_text(m.get("content")) for m in payload.get("messages", []))
        name = (payload.get("tool_choice") or {}).get("name") or next(
            (t.get("name") for t in payload.get("tools", [])), "answer")
        answer = echo_answer(name, user)
        text, truncated = _render(answer, outcome)
        total = tokens(system) + tokens(user)
        read = write = 0
        if cacheable:
            read, write = (tokens(system), 0) if seen.check("anthropic", system) else (0, tokens(system))
        if outcome is None or outcome in ("timeout", "disconnect"):
            content: list[dict[str, Any]] = [{"type": "tool_use", "id": f"toolu_fake{state.counters['calls']}",
                                              "name": name, "input": answer}]
            stop_reason = "tool_use"
        else:
            content = [{"type": "text", "text": text}]
            stop_reason = "max_tokens" if truncated else "end_turn"
        output = tokens(json.dumps(content[0].get("input", text)))
        body = {
            "id": f"msg_fake{state.counters['calls']}", "type": "message", "role": "assistant",
            "model": payload.get("model", "fake"), "content": content, "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {"input_tokens": total - read - write, "output_tokens": output,
                      "cache_creation_input_tokens": write, "cache_read_input_tokens": read},
        }
        if outcome == "disconnect":
            return cut(json.dumps(body).encode(), request.url.path)
        state.record(request.url.path, 200, input_tokens=total, output_tokens=output, cached_tokens=read,
                     cache_creation_tokens=write)
        return JSONResponse(body)

    return app


if __name__ == "__main__":
    run_cli(create_app, "Fake OpenAI and Anthropic model server.")
