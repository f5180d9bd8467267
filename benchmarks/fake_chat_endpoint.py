"""A scripted, OpenAI-compatible Chat Completions endpoint for the benchmarks, in a child process.

Both contenders of :mod:`benchmarks.contenders` talk to it: the graph through the embedded
server's chat-completions backend, LangGraph's prebuilt agent through ``ChatOpenAI``. It plays
the benchmark conversation (:mod:`benchmarks.conversation`): with no tool result after the
latest user message it calls ``calculator("6 * 7")``, after one ``calculator("42 + 1")``, after
two or more it answers :data:`~benchmarks.conversation.ANSWER`. The reply depends only on the
request, so any number of conversations can run at once.

The latency is part of the base URL, ``http://127.0.0.1:<port>/latency/<L>/v1``: every call
waits L ms before its first chunk (the model's time to first token), then streams the reply at
once (``chat.completion.chunk`` events, tool-call arguments in pieces, a usage chunk when
``stream_options.include_usage`` asks for it, ``data: [DONE]``). Non-streamed requests get one
``chat.completion`` object after the same wait.

It runs in its own process (``python -m benchmarks.fake_chat_endpoint``, which prints its port
and serves until its standard input closes), so its CPU time is never counted against either
contender and it does not compete for their GIL.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from benchmarks.conversation import ANSWER, TOOL_ROUNDS

MODEL = "benchmark-model"
API_KEY = "benchmark-key"
"""The key both contenders send (the endpoint accepts any)."""
ARGUMENT_PIECE = 8
"""Streamed tool-call arguments are sent in pieces of this many characters."""
START_TIMEOUT_SECONDS = 30.0
NOT_STARTED = "The benchmark's fake Chat Completions endpoint did not start: {reason}"

_ids = itertools.count(1)


def _tool_results_since_user(messages: list[dict[str, Any]]) -> int:
    count = 0
    for message in reversed(messages):
        role = message.get("role")
        if role == "user":
            break
        if role == "tool":
            count += 1
    return count


def reply_for(body: dict[str, Any]) -> dict[str, Any]:
    """The scripted reply to a request: ``{"tool_call": {...}}`` or ``{"text": ...}``."""
    done = _tool_results_since_user(body.get("messages") or [])
    if done < len(TOOL_ROUNDS):
        arguments = json.dumps(TOOL_ROUNDS[done])
        return {"tool_call": {"id": f"call_bench{next(_ids)}", "arguments": arguments}}
    return {"text": ANSWER}


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [word if index == 0 else " " + word for index, word in enumerate(words)]


def _usage(body: dict[str, Any]) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "").split()) for m in body.get("messages") or [])
    return {"prompt_tokens": prompt, "completion_tokens": 8, "total_tokens": prompt + 8}


async def _stream(reply: dict[str, Any], body: dict[str, Any], wait: float) -> AsyncIterator[str]:
    completion_id = f"chatcmpl-bench{next(_ids)}"
    created = int(time.time())
    model = body.get("model") or MODEL
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        data = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        return f"data: {json.dumps(data)}\n\n"

    if wait:
        await asyncio.sleep(wait)
    yield chunk({"role": "assistant", "content": ""})
    call = reply.get("tool_call")
    if call is None:
        for word in _words(reply["text"]):
            yield chunk({"content": word})
    else:
        head = {"name": "calculator", "arguments": ""}
        first = {"index": 0, "id": call["id"], "type": "function", "function": head}
        yield chunk({"tool_calls": [first]})
        arguments = call["arguments"]
        for start in range(0, len(arguments), ARGUMENT_PIECE):
            piece = {"arguments": arguments[start : start + ARGUMENT_PIECE]}
            yield chunk({"tool_calls": [{"index": 0, "function": piece}]})
    yield chunk({}, "stop" if call is None else "tool_calls")
    if with_usage:
        usage = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(body),
        }
        yield f"data: {json.dumps(usage)}\n\n"
    yield "data: [DONE]\n\n"


def _completion(reply: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    call = reply.get("tool_call")
    message: dict[str, Any] = {"role": "assistant", "content": reply.get("text")}
    if call is not None:
        message["tool_calls"] = [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": "calculator", "arguments": call["arguments"]},
            }
        ]
    return {
        "id": f"chatcmpl-bench{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model") or MODEL,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "stop" if call is None else "tool_calls",
            }
        ],
        "usage": _usage(body),
    }


async def chat_completions(request: Request) -> Response:
    """``POST /latency/{ms}/v1/chat/completions``."""
    wait = float(request.path_params["ms"]) / 1000
    body = json.loads(await request.body())
    reply = reply_for(body)
    if body.get("stream"):
        return StreamingResponse(_stream(reply, body, wait), media_type="text/event-stream")
    if wait:
        await asyncio.sleep(wait)
    return JSONResponse(_completion(reply, body))


app = Starlette(
    routes=[Route("/latency/{ms}/v1/chat/completions", chat_completions, methods=["POST"])]
)


class FakeChatEndpoint:
    """The endpoint in a child process; a context manager. ``base_url(L)`` for a latency."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    @classmethod
    def running_at(cls, port: int) -> FakeChatEndpoint:
        """An endpoint another process started on ``port`` (this object does not stop it)."""
        endpoint = cls()
        endpoint.port = port
        return endpoint

    def base_url(self, latency_ms: float) -> str:
        """Base URL (``.../v1``) whose calls wait ``latency_ms`` before answering."""
        if not self.port:
            raise RuntimeError(NOT_STARTED.format(reason="not started"))
        return f"http://127.0.0.1:{self.port}/latency/{latency_ms:g}/v1"

    def __enter__(self) -> FakeChatEndpoint:
        process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fake_chat_endpoint"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._process = process
        assert process.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(process.stdout.readline()))
        reader.start()
        reader.join(START_TIMEOUT_SECONDS)
        if not line or not line[0].strip().isdigit():
            self.__exit__()
            raise RuntimeError(NOT_STARTED.format(reason=f"it printed {line!r}"))
        self.port = int(line[0])
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        self.port = 0
        if process is None:
            return
        with contextlib.suppress(BrokenPipeError, OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


@contextlib.contextmanager
def fake_chat_endpoint() -> Iterator[FakeChatEndpoint]:
    """A started :class:`FakeChatEndpoint`."""
    with FakeChatEndpoint() as endpoint:
        yield endpoint


def _serve() -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )

    def stop_when_parent_closes_stdin() -> None:
        sys.stdin.read()
        server.should_exit = True

    threading.Thread(target=stop_when_parent_closes_stdin, daemon=True).start()
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise SystemExit(1)
        time.sleep(0.01)
    print(sock.getsockname()[1], flush=True)
    thread.join()


if __name__ == "__main__":
    _serve()
