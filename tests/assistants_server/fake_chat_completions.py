"""A scripted, OpenAI-compatible Chat Completions endpoint on 127.0.0.1, for tests.

It stands in for the one part that cannot run here (a hosted language model) and is honest
about it: it answers ``POST /v1/chat/completions`` with exactly the replies a test queued, in
the official response shapes (``chat.completion`` objects, or Server-Sent Events of
``chat.completion.chunk`` objects ending with ``data: [DONE]``), and records every request.

Usage::

    # in tests/assistants_server/ (pytest puts that directory on sys.path):
    from fake_chat_completions import FakeChatCompletions, Reply

    with FakeChatCompletions() as fake:                 # uvicorn in a thread, free port
        fake.base_url                                   # "http://127.0.0.1:<port>/v1"
        fake.add_text("Hello there!")                   # streamed word by word
        fake.add_text("Hi", chunks=["H", "i"])          # explicit stream chunks
        fake.add_tool_calls(                            # several calls = parallel tool calls
            ("get_weather", {"city": "Paris"}),         # arguments: dict or raw JSON text
            ("calculator", '{"expression": "2+2"}'),
        )
        fake.add_error(500)                             # HTTP error, then the next reply...
        fake.add_error(429, message="Slow down")        # ...so retries can be proven
        fake.add_text("late", delay_seconds=2.0)        # waits before answering (timeouts)
        fake.add_text("a b c", hold=event, hold_after=1)  # streams "a", waits for event.set()
        fake.add(Reply(text="cut", finish_reason="length", include_usage=False))
        ...
        fake.requests[0].body["messages"]               # JSON bodies received, in order
        fake.requests[0].headers["authorization"]       # headers (lower-case names)
        fake.pending()                                  # replies not consumed yet

Replies are consumed one per request, in order, whatever the request says (retries included:
a 500 followed by a text reply means "fail once, then succeed"). With no reply left the fake
answers 400 with a message saying so (or ``default``'s reply when one is given).

``FakeChatCompletions(api_key="k")`` makes it check ``Authorization: Bearer k`` like a real
provider: any other key gets OpenAI's 401 ``invalid_api_key`` error (which echoes the key it
received, as some providers do, so tests can prove callers never repeat it).

Error replies carry ``retry-after-ms: 10`` by default (a header OpenAI sends too), so the
openai SDK's retries wait 10 ms instead of its ~0.5 s backoff and tests stay fast.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

HOLD_TIMEOUT_SECONDS = 60.0
"""Longest a held stream waits for its event (a failing test never hangs the fake)."""
ARGUMENT_PIECE = 8
"""Streamed tool-call arguments are sent in pieces of this many characters."""
NO_REPLY_LEFT = (
    "FakeChatCompletions has no scripted reply left for request #{number}. Queue one with "
    "add_text(), add_tool_calls() or add_error()."
)
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "requests",
    500: "server_error",
}


@dataclass(frozen=True)
class ScriptedToolCall:
    """A tool call the fake model makes. ``id=None`` leaves the id out (some endpoints do)."""

    name: str
    arguments: str
    id: str | None = ""
    """Empty: the fake assigns ``call_fake_<n>``; ``None``: the field is omitted."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer. ``status != 200`` makes it an HTTP error response."""

    text: str | None = None
    chunks: list[str] | None = None
    """How to cut ``text`` into stream deltas; default: word by word."""
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    finish_reason: str | None = None
    """Default: ``"tool_calls"`` when there are tool calls, else ``"stop"``."""
    status: int = 200
    error_message: str | None = None
    error_code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    retry_after_ms: float | None = 10
    """Sent as ``retry-after-ms`` on error replies; ``None`` leaves the header out."""
    delay_seconds: float = 0.0
    """Wait this long before answering (ends early if the client goes away)."""
    include_usage: bool = True
    """Send usage (when a stream asks for it with ``stream_options.include_usage``)."""
    hold: threading.Event | None = None
    """Streamed replies: after ``hold_after`` text chunks, wait until this event is set
    (at most ``HOLD_TIMEOUT_SECONDS``), then send the rest: a test sees what arrived first."""
    hold_after: int = 1
    stream_error: str | None = None
    """After the chunks, send ``data: {"error": {"message": ...}}`` instead of finishing."""


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


def _words(text: str) -> list[str]:
    pieces = re.findall(r"\s*\S+", text)
    rest = text[sum(len(p) for p in pieces) :]
    if rest:
        pieces = [*pieces[:-1], pieces[-1] + rest] if pieces else [rest]
    return pieces


def _prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            total += len(content.split())
    return total


class FakeChatCompletions:
    """The scripted endpoint; use as a context manager (see the module docstring)."""

    def __init__(
        self, *, api_key: str | None = None, default: Reply | None = None, model: str = "fake-model"
    ):
        """Configure the fake; ``start()`` (or ``with``) serves it on a free loopback port."""
        self.api_key = api_key
        self.default = default
        self.model = model
        self._replies: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.app = self._build_app()

    # -- scripting ---------------------------------------------------------------------------

    def add(self, *replies: Reply) -> FakeChatCompletions:
        """Queue replies (consumed one per request, in order)."""
        with self._lock:
            self._replies.extend(replies)
        return self

    def add_text(self, text: str, **options: Any) -> FakeChatCompletions:
        """Queue a text reply; ``options`` are :class:`Reply` fields (chunks, delay_seconds...)."""
        return self.add(Reply(text=text, **options))

    def add_tool_calls(
        self, *calls: tuple[str, Any] | ScriptedToolCall, **options: Any
    ) -> FakeChatCompletions:
        """Queue one reply making these tool calls (several = parallel tool calls)."""
        scripted = [
            call
            if isinstance(call, ScriptedToolCall)
            else ScriptedToolCall(
                name=call[0], arguments=call[1] if isinstance(call[1], str) else json.dumps(call[1])
            )
            for call in calls
        ]
        return self.add(Reply(tool_calls=scripted, **options))

    def add_error(
        self, status: int, message: str | None = None, **options: Any
    ) -> FakeChatCompletions:
        """Queue an HTTP error reply with OpenAI's error body."""
        return self.add(Reply(status=status, error_message=message, **options))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def pending(self) -> int:
        """How many queued replies have not been used."""
        with self._lock:
            return len(self._replies)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: what to give an OpenAI client as ``base_url``."""
        if not self.port:
            raise RuntimeError("FakeChatCompletions is not running; use it as a context manager.")
        return f"http://127.0.0.1:{self.port}/v1"

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeChatCompletions:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="fake-chat-completions",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeChatCompletions did not start.")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeChatCompletions:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the endpoint ------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="fake chat completions")

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Any:
            raw = await request.body()
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            with self._lock:
                self._requests.append(
                    RecordedRequest(
                        method=request.method,
                        path=request.url.path,
                        headers={k.lower(): v for k, v in request.headers.items()},
                        body=body,
                    )
                )
                number = len(self._requests)
            if self.api_key is not None:
                sent = request.headers.get("authorization", "")
                if sent != f"Bearer {self.api_key}":
                    received = sent.removeprefix("Bearer ")
                    return _error(
                        401, f"Incorrect API key provided: {received}.", "invalid_api_key", {}
                    )
            with self._lock:
                reply = self._replies.popleft() if self._replies else self.default
            if reply is None:
                return _error(400, NO_REPLY_LEFT.format(number=number), "no_reply_left", {})
            if reply.delay_seconds:
                await _sleep_unless_disconnected(request, reply.delay_seconds)
            if reply.status != 200:
                headers = dict(reply.headers)
                if reply.retry_after_ms is not None:
                    headers.setdefault("retry-after-ms", f"{reply.retry_after_ms:g}")
                message = reply.error_message or f"Scripted error {reply.status}."
                return _error(reply.status, message, reply.error_code, headers)
            if not isinstance(body, dict):
                return _error(400, "The body must be a JSON object.", None, {})
            if body.get("stream"):
                return StreamingResponse(
                    self._chunks(reply, body), media_type="text/event-stream", headers=reply.headers
                )
            return JSONResponse(self._completion(reply, body), headers=reply.headers)

        return app

    def _tool_call_ids(self, reply: Reply) -> list[str | None]:
        return [
            call.id if call.id is None or call.id else f"call_fake_{next(self._ids)}"
            for call in reply.tool_calls
        ]

    def _usage(self, reply: Reply, body: dict[str, Any]) -> dict[str, int]:
        completion = len(_words(reply.text or "")) + sum(
            1 + len(call.arguments.split()) for call in reply.tool_calls
        )
        prompt = _prompt_tokens(body)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _finish_reason(self, reply: Reply) -> str:
        return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")

    def _completion(self, reply: Reply, body: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = [
                {
                    **({"id": call_id} if call_id is not None else {}),
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call, call_id in zip(reply.tool_calls, self._tool_call_ids(reply), strict=True)
            ]
        result: dict[str, Any] = {
            "id": f"chatcmpl-fake{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self._finish_reason(reply),
                }
            ],
        }
        if reply.include_usage:
            result["usage"] = self._usage(reply, body)
        return result

    async def _chunks(self, reply: Reply, body: dict[str, Any]):
        completion_id = f"chatcmpl-fake{next(self._ids)}"
        created = int(time.time())
        model = body.get("model", self.model)
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        send_usage = wants_usage and reply.include_usage

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
                ],
            }
            if send_usage:
                data["usage"] = None
            return f"data: {json.dumps(data)}\n\n"

        yield chunk({"role": "assistant", "content": "", "refusal": None})
        if reply.text:
            pieces = reply.chunks if reply.chunks is not None else _words(reply.text)
            for number, piece in enumerate(pieces):
                if reply.hold is not None and number == reply.hold_after:
                    await _wait_for(reply.hold, HOLD_TIMEOUT_SECONDS)
                yield chunk({"content": piece})
                await asyncio.sleep(0)
        for index, (call, call_id) in enumerate(
            zip(reply.tool_calls, self._tool_call_ids(reply), strict=True)
        ):
            head: dict[str, Any] = {
                "index": index,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }
            if call_id is not None:
                head["id"] = call_id
            yield chunk({"tool_calls": [head]})
            for start in range(0, len(call.arguments), ARGUMENT_PIECE):
                piece = call.arguments[start : start + ARGUMENT_PIECE]
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        if reply.stream_error is not None:
            error = {
                "error": {
                    "message": reply.stream_error,
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
            yield f"data: {json.dumps(error)}\n\n"
            return
        yield chunk({}, self._finish_reason(reply))
        if send_usage:
            usage = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [],
                "usage": self._usage(reply, body),
            }
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"


def _error(status: int, message: str, code: str | None, headers: dict[str, str]) -> JSONResponse:
    body = {
        "error": {
            "message": message,
            "type": ERROR_TYPES.get(status, "server_error"),
            "param": None,
            "code": code,
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


async def _wait_for(event: threading.Event, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not event.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


async def _sleep_unless_disconnected(request: Request, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(0.05, remaining))
