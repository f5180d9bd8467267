"""The two agents compared on the same fake Chat Completions endpoint.

* **graph**: ``build_graph(checkpointer=InMemorySaver())`` with the default tools, talking to an
  embedded Assistants server whose chat-completions backend calls the endpoint
  (:func:`benchmarks.harness.chat_completions_server`).
* **prebuilt**: LangGraph's own prebuilt agent, ``langchain.agents.create_agent`` when
  ``langchain`` is installed, else ``langgraph.prebuilt.create_react_agent``, with
  ``langchain_openai.ChatOpenAI(streaming=True)`` calling the endpoint directly, the same tools,
  the same instructions as system prompt and an ``InMemorySaver``.

Both stream every model call from the endpoint, run the calculator tool locally and keep their
conversation in a LangGraph checkpointer; what differs is the path between the graph and the
model (the Assistants API and its server, or nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant_graph.graph import build_graph
from assistant_graph.tools import default_tools
from langchain_core.messages import AIMessage, BaseMessage
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.fake_chat_endpoint import API_KEY, MODEL, FakeChatEndpoint
from benchmarks.harness import (
    WrongAnswerError,
    chat_completions_server,
    check_answer,
    graph_context,
    new_thread_config,
    question,
)

GRAPH = "graph"
PREBUILT = "prebuilt"


@dataclass(frozen=True)
class Sample:
    """One streamed conversation, timed from the call to the end of the stream."""

    wall: float
    """Seconds until the stream ended."""
    first_token: float
    """Seconds until the first chunk of the answer's text."""
    cpu: float
    """CPU seconds of this whole process meanwhile (the embedded server's thread included)."""


@dataclass
class Contender:
    """One agent: a compiled LangGraph graph and what its invocations take besides the input."""

    name: str
    graph: Any
    invoke_options: dict[str, Any]
    """Keyword arguments of every ``stream`` / ``ainvoke`` call (the graph's ``context``)."""
    factory: str
    """How the agent was made."""

    def stream_once(self) -> Sample:
        """Stream one conversation (``stream_mode="messages"``) on a fresh thread; check it."""
        config = new_thread_config()
        cpu_start = time.process_time()
        start = time.perf_counter()
        first_token = None
        for message, _metadata in self.graph.stream(
            question(), config, stream_mode="messages", **self.invoke_options
        ):
            if first_token is None and _is_answer_text(message):
                first_token = time.perf_counter() - start
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        self.check(config)
        if first_token is None:
            raise RuntimeError(f"The {self.name} streamed no answer text.")
        return Sample(wall=wall, first_token=first_token, cpu=cpu)

    async def ainvoke_once(self) -> tuple[float, str]:
        """Run one conversation with ``ainvoke`` on a fresh thread.

        Returns its seconds and, when its answer is wrong, what went wrong (else "").
        """
        config = new_thread_config()
        start = time.perf_counter()
        result = await self.graph.ainvoke(question(), config, **self.invoke_options)
        seconds = time.perf_counter() - start
        try:
            check_answer(result["messages"], self.name)
        except WrongAnswerError as exc:
            return seconds, str(exc)
        return seconds, ""

    def check(self, config: dict[str, Any]) -> None:
        """Raise unless the thread ``config`` names holds the finished conversation."""
        check_answer(self.graph.get_state(config).values["messages"], self.name)


def _is_answer_text(message: BaseMessage) -> bool:
    return isinstance(message, AIMessage) and not message.tool_calls and bool(message.text)


def prebuilt_agent(base_url: str) -> tuple[Any, str]:
    """LangGraph's prebuilt agent on ``base_url``, and the name of the factory used."""
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model=MODEL, base_url=base_url, api_key=API_KEY, streaming=True)
    instructions = graph_instructions()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from langchain.agents import create_agent
        except ImportError:
            from langgraph.prebuilt import create_react_agent

            agent = create_react_agent(
                model, default_tools(), prompt=instructions, checkpointer=InMemorySaver()
            )
            return agent, "langgraph.prebuilt.create_react_agent"
    agent = create_agent(
        model, default_tools(), system_prompt=instructions, checkpointer=InMemorySaver()
    )
    return agent, "langchain.agents.create_agent"


def graph_instructions() -> str:
    """The instructions the graph gives its assistant (the prebuilt agent gets the same)."""
    from assistant_graph.graph import Context

    return Context().instructions


@contextlib.contextmanager
def contenders(
    endpoint: FakeChatEndpoint, latency_ms: float, only: str | None = None
) -> Iterator[dict[str, Contender]]:
    """Both agents (or ``only`` one) on ``endpoint`` at latency L, warmed up by a conversation.

    The graph's embedded server runs while the block does.
    """
    base_url = endpoint.base_url(latency_ms)
    with contextlib.ExitStack() as stack:
        agents: dict[str, Contender] = {}
        if only in (None, GRAPH):
            server = stack.enter_context(chat_completions_server(base_url, API_KEY))
            graph = build_graph(checkpointer=InMemorySaver())
            options = {"context": graph_context(server)}
            agents[GRAPH] = Contender(GRAPH, graph, options, "assistant_graph.graph.build_graph")
        if only in (None, PREBUILT):
            agent, factory = prebuilt_agent(base_url)
            agents[PREBUILT] = Contender(PREBUILT, agent, {}, factory)
        for contender in agents.values():
            contender.stream_once()  # provisions the assistant, opens connections
        yield agents


async def gather_conversations(
    contender: Contender, count: int
) -> tuple[float, list[float], list[str]]:
    """``count`` conversations started together: wall seconds, each one's seconds, and what
    went wrong in those whose answer was wrong."""
    start = time.perf_counter()
    results = await asyncio.gather(*(contender.ainvoke_once() for _ in range(count)))
    wall = time.perf_counter() - start
    return wall, [seconds for seconds, _ in results], [wrong for _, wrong in results if wrong]
