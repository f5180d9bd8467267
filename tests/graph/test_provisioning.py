"""Assistant provisioning is idempotent: found by name + fingerprint, updated, never duplicated."""

from __future__ import annotations

import socket

import openai
import pytest
from assistant_graph.graph import Context, EndpointUnreachableError, build_graph, provisioning
from assistant_graph.graph.builder import prepare_assistant
from assistant_graph.graph.provisioning import FINGERPRINT_KEY
from assistant_graph.tools import calculator
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver


@tool
def shout(text: str) -> str:
    """Return the text in capitals."""
    return text.upper()


def _assistants_named(server, name: str) -> list:
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        return [a for a in client.beta.assistants.list(limit=100) if a.name == name]
    finally:
        client.close()


def _ask(graph, context, thread: str) -> None:
    graph.invoke(
        {"messages": [HumanMessage("What's 1 + 1?")]},
        {"configurable": {"thread_id": thread}},
        context=context,
    )


def test_two_builds_and_restarts_create_one_assistant(scripted_server):
    """Two graphs, and a simulated process restart (cleared cache), reuse one assistant."""
    server = scripted_server([])
    context = Context(base_url=server.base_url, assistant_name="provisioning-test")
    _ask(build_graph(checkpointer=InMemorySaver()), context, "a")
    _ask(build_graph(checkpointer=InMemorySaver()), context, "b")
    provisioning.clear_cache()
    _ask(build_graph(checkpointer=InMemorySaver()), context, "c")
    assistants = _assistants_named(server, "provisioning-test")
    assert len(assistants) == 1
    assert assistants[0].metadata[FINGERPRINT_KEY]
    assert {t.function.name for t in assistants[0].tools if t.type == "function"} >= {"calculator"}


def test_changed_tools_update_the_same_assistant(scripted_server):
    """New tools (a new fingerprint) update the existing assistant instead of adding one."""
    server = scripted_server([])
    context = Context(base_url=server.base_url, assistant_name="evolving")
    _ask(build_graph(checkpointer=InMemorySaver(), tools=[calculator]), context, "a")
    before = _assistants_named(server, "evolving")
    provisioning.clear_cache()
    _ask(build_graph(checkpointer=InMemorySaver(), tools=[calculator, shout]), context, "b")
    after = _assistants_named(server, "evolving")
    assert [a.id for a in after] == [a.id for a in before]
    assert {t.function.name for t in after[0].tools} == {"calculator", "shout"}
    assert after[0].metadata[FINGERPRINT_KEY] != before[0].metadata[FINGERPRINT_KEY]


def test_configured_assistant_id_is_used_as_is(scripted_server):
    """With an assistant id configured, the graph runs it and provisions nothing."""
    server = scripted_server([{"match": "hello", "turns": [{"text": "hi from the chosen one"}]}])
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        chosen = client.beta.assistants.create(model="m", name="hand-made")
    finally:
        client.close()
    graph = build_graph(checkpointer=InMemorySaver())
    result = graph.invoke(
        {"messages": [HumanMessage("hello")]},
        {"configurable": {"thread_id": "x"}},
        context=Context(base_url=server.base_url, assistant_id=chosen.id),
    )
    assert result["messages"][-1].content == "hi from the chosen one"
    assert [a.name for a in _assistants_named(server, "hand-made")] == ["hand-made"]
    assert _assistants_named(server, "assistant-graph") == []


def test_fingerprint_is_computed_once_per_spec(server, monkeypatch):
    """Steps reuse the spec's fingerprint: over a three-step turn and a second turn the
    assistant's definition is hashed once (the per-process cache key needs no re-hashing)."""
    hashed: list[bytes] = []
    real_sha256 = provisioning.hashlib.sha256

    def counting_sha256(data: bytes = b""):
        if b'"instructions"' in data:  # the assistant's definition, not other ids
            hashed.append(data)
        return real_sha256(data)

    monkeypatch.setattr(provisioning.hashlib, "sha256", counting_sha256)
    graph = build_graph(checkpointer=InMemorySaver())
    context = Context(base_url=server.base_url, assistant_name="fingerprint-once")
    _ask(graph, context, "fp-1")
    _ask(graph, context, "fp-1")
    assert len(hashed) == 1


def test_prepare_assistant_provisions_before_the_first_turn(server, request_log):
    """``prepare_assistant`` provisions the assistant the graph will run; the graph's first
    turn then asks the endpoint nothing about assistants (same tools, same process)."""
    client = request_log.sync_client(server)
    assistant_id = prepare_assistant(client=client)
    assert assistant_id.startswith("asst_")
    assert request_log.matching("GET", "/assistants"), "provisioning happened here"
    request_log.clear()
    graph = build_graph(checkpointer=InMemorySaver(), client=client)
    graph.invoke({"messages": [HumanMessage("hello")]}, {"configurable": {"thread_id": "p"}})
    assert not [r for r in request_log.requests if "/assistants" in r[1]], request_log.requests


def test_prepare_assistant_reports_an_unreachable_endpoint():
    """A closed port: :class:`EndpointUnreachableError` naming the endpoint, before any turn."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(EndpointUnreachableError) as info:
        prepare_assistant(Context(base_url=url))
    assert url in str(info.value) and "connection refused" in str(info.value)
