"""Shared set-up for the benchmarks: scripted embedded servers, graphs, timing helpers.

Every benchmark conversation is the same: one user message matching :data:`SCRIPT_MATCH`, which
the offline model answers with two rounds of calculator calls and then a text answer, so the
graph and the seed loop both see exactly three model calls per conversation.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.graph.clients import ASSISTANTS_BETA_HEADER
from langchain_core.messages import AIMessage, HumanMessage

SCRIPT_MATCH = "benchmark two rounds"
QUESTION = f"Please do the {SCRIPT_MATCH} sum."
ANSWER = "The total is 43."
MODEL_CALLS_PER_CONVERSATION = 3
SCRIPT = [
    {
        "match": SCRIPT_MATCH,
        "turns": [
            {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]},
            {"tool_calls": [{"name": "calculator", "arguments": {"expression": "42 + 1"}}]},
            {"text": ANSWER},
        ],
    }
]
"""Two tool rounds and an answer: three model calls."""

BENCHMARK_ERROR = "Benchmark conversation went wrong: {detail}"


@dataclass(frozen=True)
class Options:
    """How hard to measure."""

    quick: bool = False
    """Smoke-test mode: fewest repetitions and smallest sizes that still produce every figure."""

    def reps(self, full: int, quick: int = 2) -> int:
        """Number of repetitions of a timed measurement."""
        return quick if self.quick else full


@contextlib.contextmanager
def scripted_server(latency_ms: float, workdir: Path | None = None) -> Iterator[EmbeddedServer]:
    """A started embedded server (temporary SQLite file, scripted offline model, latency L)."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        name = uuid.uuid4().hex[:8]
        script = workdir / f"script-{name}.json"
        script.write_text(json.dumps(SCRIPT), encoding="utf-8")
        settings = ServerSettings(
            port=0,
            host="127.0.0.1",
            database_url=f"sqlite:///{workdir / f'assistants-{name}.sqlite3'}",
            offline_latency_ms=latency_ms,
            offline_script=str(script),
            log_level="warning",
        )
        server = stack.enter_context(EmbeddedServer(settings))
        yield server


def sync_client(
    server: EmbeddedServer, on_request: Callable[[httpx.Request], None] | None = None
) -> openai.OpenAI:
    """A plain SDK client for ``server`` (optionally recording each request)."""
    http_client = None
    if on_request is not None:
        http_client = httpx.Client(event_hooks={"request": [on_request]})
    return openai.OpenAI(
        base_url=server.base_url,
        api_key=server.api_key,
        default_headers=ASSISTANTS_BETA_HEADER,
        http_client=http_client,
    )


def async_client(server: EmbeddedServer) -> openai.AsyncOpenAI:
    """A plain async SDK client for ``server``."""
    return openai.AsyncOpenAI(
        base_url=server.base_url, api_key=server.api_key, default_headers=ASSISTANTS_BETA_HEADER
    )


def new_thread_config() -> dict[str, Any]:
    """A config for a fresh LangGraph thread."""
    return {"configurable": {"thread_id": f"bench-{uuid.uuid4().hex}"}}


def question() -> dict[str, Any]:
    """Graph input of the benchmark conversation."""
    return {"messages": [HumanMessage(QUESTION)]}


def check_graph_answer(result: dict[str, Any]) -> None:
    """Raise unless the graph's turn went through both tool rounds to the scripted answer."""
    messages = result["messages"]
    last = messages[-1]
    tool_rounds = sum(1 for m in messages if isinstance(m, AIMessage) and m.tool_calls)
    if not isinstance(last, AIMessage) or ANSWER not in str(last.content) or tool_rounds < 2:
        raise RuntimeError(BENCHMARK_ERROR.format(detail=f"last message {last!r}"))


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
