"""Shared set-up for the benchmarks: embedded servers, graph contexts, timing helpers.

Only the package's public interfaces are used: the embedded server is configured through its
documented environment variables (``ASSISTANTS_SERVER_*``, ``OPENAI_BASE_URL`` /
``OPENAI_API_KEY``) and started with ``EmbeddedServer()``; the graph is pointed at it with
``Context(base_url=..., api_key=...)``. Every conversation is the one of
:mod:`benchmarks.conversation` (three model calls).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
from assistant_graph.assistants_server import EmbeddedServer
from assistant_graph.graph import Context
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from benchmarks.conversation import (
    ANSWER,
    BENCHMARK_ERROR,
    MODEL_CALLS_PER_CONVERSATION,
    OFFLINE_SCRIPT,
    QUESTION,
    SCRIPT_MATCH,
)

__all__ = [
    "ANSWER",
    "BENCHMARK_ERROR",
    "MODEL_CALLS_PER_CONVERSATION",
    "QUESTION",
    "SCRIPT_MATCH",
    "Options",
    "WrongAnswerError",
    "chat_completions_server",
    "check_answer",
    "check_graph_answer",
    "embedded_server",
    "graph_context",
    "median",
    "new_thread_config",
    "percentile",
    "question",
    "rounded",
    "scripted_server",
    "sync_client",
    "timed",
]


@dataclass(frozen=True)
class Options:
    """How hard to measure."""

    quick: bool = False
    """Smoke-test mode: fewest repetitions and smallest sizes that still produce every figure."""

    def reps(self, full: int, quick: int = 1) -> int:
        """Number of repetitions of a timed measurement."""
        return quick if self.quick else full


@contextlib.contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def embedded_server(
    environment: Mapping[str, str], *, offline_script: bool = False
) -> Iterator[EmbeddedServer]:
    """A started ``EmbeddedServer()`` configured by ``environment`` (documented variables).

    The store is a fresh SQLite file in a temporary directory; the server requires no key and
    logs only warnings. With ``offline_script`` the offline model plays the benchmark
    conversation from a script file written there. The variables stay set while the server runs.
    """
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        variables = {
            "ASSISTANTS_SERVER_DATABASE_URL": f"sqlite:///{workdir / 'assistants.sqlite3'}",
            "ASSISTANTS_SERVER_API_KEYS": "",
            "ASSISTANTS_SERVER_DEFAULT_MODEL": "",
            "ASSISTANTS_SERVER_LOG_LEVEL": "warning",
            **environment,
        }
        if offline_script:
            script = workdir / "script.json"
            script.write_text(json.dumps(OFFLINE_SCRIPT), encoding="utf-8")
            variables["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(script)
        stack.enter_context(patched_environ(variables))
        yield stack.enter_context(EmbeddedServer())


def scripted_server(latency_ms: float) -> contextlib.AbstractContextManager[EmbeddedServer]:
    """An embedded server whose offline model plays the conversation, L ms per model call."""
    return embedded_server(
        {
            "ASSISTANTS_SERVER_BACKEND": "offline",
            "ASSISTANTS_SERVER_OFFLINE_LATENCY_MS": f"{latency_ms:g}",
        },
        offline_script=True,
    )


def chat_completions_server(
    model_base_url: str, api_key: str
) -> contextlib.AbstractContextManager[EmbeddedServer]:
    """An embedded server whose chat-completions backend calls ``model_base_url``."""
    return embedded_server(
        {
            "ASSISTANTS_SERVER_BACKEND": "chat-completions",
            "OPENAI_BASE_URL": model_base_url,
            "OPENAI_API_KEY": api_key,
        }
    )


def graph_context(server: EmbeddedServer) -> Context:
    """The graph's context for ``server``.

    The assistant's name is unique to this server, so an assistant provisioned on an earlier
    server (which may have had the same port) is never reused.
    """
    return Context(
        base_url=server.base_url,
        api_key=server.api_key,
        assistant_name=f"benchmark-{uuid.uuid4().hex[:12]}",
    )


def sync_client(server: EmbeddedServer, **options: Any) -> openai.OpenAI:
    """A plain SDK client for ``server`` (``options`` go to ``openai.OpenAI``)."""
    return openai.OpenAI(base_url=server.base_url, api_key=server.api_key, **options)


def async_client(server: EmbeddedServer) -> openai.AsyncOpenAI:
    """A plain async SDK client for ``server``."""
    return openai.AsyncOpenAI(base_url=server.base_url, api_key=server.api_key)


def new_thread_config() -> dict[str, Any]:
    """A config for a fresh LangGraph thread."""
    return {"configurable": {"thread_id": f"bench-{uuid.uuid4().hex}"}}


def question() -> dict[str, Any]:
    """Graph input of the benchmark conversation."""
    return {"messages": [HumanMessage(QUESTION)]}


class WrongAnswerError(RuntimeError):
    """A benchmark conversation did not end with both tool rounds and the scripted answer."""


def check_answer(messages: list[BaseMessage], who: str = "graph") -> None:
    """Raise :class:`WrongAnswerError` unless the turn went through both tool rounds to the
    scripted answer."""
    last = messages[-1]
    tool_rounds = sum(1 for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    if not isinstance(last, AIMessage) or ANSWER not in str(last.content) or tool_rounds < 2:
        raise WrongAnswerError(BENCHMARK_ERROR.format(detail=f"{who}'s last message {last!r}"))


def check_graph_answer(result: dict[str, Any]) -> None:
    """:func:`check_answer` on a graph result (its ``messages``)."""
    check_answer(result["messages"])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return statistics.median(values)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]


def rounded(value: float, digits: int = 4) -> float:
    """Round for the JSON output."""
    return round(value, digits)
