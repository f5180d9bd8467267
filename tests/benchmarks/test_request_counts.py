"""The HTTP requests of one turn do not depend on how long the conversation already is.

A two-tool-round turn is run on a thread with 6 prior messages and on one with 204; the
requests the graph sends (method and path, ids normalised) must be the same list, with no
message listing at all (streamed runs give their messages in ``thread.message.completed``
events). The seed's stock runnable is measured the same way to show
what the count guards against: it lists the whole thread, page after page.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import httpx
import openai
import pytest
from assistant_graph.assistants_server import EmbeddedServer
from assistant_graph.graph import build_graph
from assistant_graph.tools import default_tools
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.harness import (
    QUESTION,
    check_graph_answer,
    graph_context,
    new_thread_config,
    question,
)
from benchmarks.harness import scripted_server as start_scripted_server
from benchmarks.priming import prime_thread
from benchmarks.seed_loop import execute_agent, seed_agent

SHORT = 5
LONG = 200
ID_PATTERN = re.compile(r"\b(thread|run|msg|call|step|asst)_[A-Za-z0-9]{8,}")


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    """A scripted server (two tool rounds then an answer), no artificial latency."""
    with start_scripted_server(0.0) as running:
        yield running


class Recorder:
    """Records (method, path with ids normalised, query) of every request a client sends."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []

    def __call__(self, request: httpx.Request) -> None:
        path = ID_PATTERN.sub(lambda m: f"{m.group(1)}_ID", request.url.path)
        query = ID_PATTERN.sub(lambda m: f"{m.group(1)}_ID", request.url.query.decode())
        self.requests.append((request.method, path, query))


def recording_client(server: EmbeddedServer, recorder: Recorder) -> openai.OpenAI:
    """A sync SDK client that reports each request to ``recorder``."""
    return openai.OpenAI(
        base_url=server.base_url,
        api_key=server.api_key,
        http_client=httpx.Client(event_hooks={"request": [recorder]}),
    )


def test_requests_per_turn_do_not_grow_with_thread_length(server: EmbeddedServer) -> None:
    """Same request list for a turn after 6 and after 204 prior messages; no message listing
    (the answer is taken from the run's stream) and no run reads."""
    recorder = Recorder()
    client = recording_client(server, recorder)
    graph = build_graph(checkpointer=InMemorySaver(), client=client)
    context = graph_context(server)  # an assistant name of its own: provisioned by this test
    per_length: dict[int, list[tuple[str, str, str]]] = {}
    try:
        check_graph_answer(graph.invoke(question(), new_thread_config(), context=context))
        for length in (SHORT, LONG):
            config = new_thread_config()
            prime_thread(graph, config, length, context=context)
            recorder.requests.clear()
            check_graph_answer(graph.invoke(question(), config, context=context))
            per_length[length] = list(recorder.requests)
    finally:
        client.close()

    assert per_length[SHORT] == per_length[LONG]
    reads = [r for r in per_length[LONG] if r[0] == "GET" and "/threads/" in r[1]]
    assert reads == [], per_length[LONG]
    assert len([r for r in per_length[LONG] if r[1].endswith("/submit_tool_outputs")]) == 2
    assert not [r for r in per_length[LONG] if r[1].endswith("/assistants")], (
        "provisioning is cached per process: no assistant lookups on later turns"
    )


def test_seed_loop_reads_the_whole_thread_after_each_run(server: EmbeddedServer) -> None:
    """The stock runnable's message listing grows with the thread (what the graph avoids):
    with 200 prior messages it needs more listing requests than with 5."""
    tools = default_tools()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        agent = seed_agent(server, tools)
        recorder = Recorder()
        agent.client = recording_client(server, recorder)
        listings: dict[int, int] = {}
        try:
            for length in (SHORT, LONG):
                thread = agent.client.beta.threads.create()
                for index in range(length):
                    agent.client.beta.threads.messages.create(
                        thread.id,
                        role="user" if index % 2 == 0 else "assistant",
                        content=f"prior {index}",
                    )
                recorder.requests.clear()
                execute_agent(agent, tools, {"content": QUESTION, "thread_id": thread.id})
                listings[length] = sum(
                    1 for r in recorder.requests if r[0] == "GET" and r[1].endswith("/messages")
                )
        finally:
            agent.client.close()
    assert listings[SHORT] >= 1
    assert listings[LONG] > listings[SHORT], listings
