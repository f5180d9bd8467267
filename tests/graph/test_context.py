"""Configuration: context fields, environment fallbacks, validation."""

from __future__ import annotations

import pytest
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.errors import ConfigurationError
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver


def test_defaults_without_environment():
    """Nothing configured: embedded server (empty base_url), provisioned assistant."""
    context = Context()
    assert context.base_url == ""
    assert context.assistant_id == ""
    assert context.assistant_name == "assistant-graph"
    assert context.check_every_ms == 1000.0


def test_environment_fills_fields_left_at_default(monkeypatch):
    """Env vars are fallbacks; explicit fields win."""
    monkeypatch.setenv("ASSISTANTS_BASE_URL", "http://127.0.0.1:1/v1/")
    monkeypatch.setenv("ASSISTANTS_API_KEY", "secret")
    monkeypatch.setenv("ASSISTANT_ID", "asst_env")
    monkeypatch.setenv("ASSISTANT_MODEL", "env-model")
    monkeypatch.setenv("ASSISTANT_CHECK_EVERY_MS", "25")
    context = Context(model="explicit-model")
    assert context.base_url == "http://127.0.0.1:1/v1"
    assert context.api_key == "secret"
    assert context.assistant_id == "asst_env"
    assert context.model == "explicit-model"
    assert context.check_every_ms == 25.0
    assert "secret" not in repr(context)


@pytest.mark.parametrize("raw", ["soon", "0", "-5"])
def test_invalid_check_interval_is_a_configuration_error(monkeypatch, raw):
    """A non-positive or non-numeric ASSISTANT_CHECK_EVERY_MS names the variable."""
    monkeypatch.setenv("ASSISTANT_CHECK_EVERY_MS", raw)
    with pytest.raises(ConfigurationError, match="ASSISTANT_CHECK_EVERY_MS"):
        Context()


def test_assistants_base_url_from_the_environment_is_used(server, monkeypatch):
    """ASSISTANTS_BASE_URL points the graph at an external endpoint (here: a server we run)."""
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    graph = build_graph(checkpointer=InMemorySaver())
    result = graph.invoke(
        {"messages": [HumanMessage("What's 3 * 3?")]}, {"configurable": {"thread_id": "env"}}
    )
    assert "9" in result["messages"][-1].content
    import assistant_graph.assistants_server.embedded as embedded

    assert embedded._shared is None or embedded._shared.base_url != server.base_url


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_interrupt_before_tools_from_the_environment(monkeypatch, raw, expected):
    """ASSISTANT_INTERRUPT_BEFORE_TOOLS switches the human review on (default off)."""
    assert Context().interrupt_before_tools is False
    monkeypatch.setenv("ASSISTANT_INTERRUPT_BEFORE_TOOLS", raw)
    assert Context().interrupt_before_tools is expected


def test_invalid_interrupt_flag_is_a_configuration_error(monkeypatch):
    """A value that is not a yes/no word names the variable."""
    monkeypatch.setenv("ASSISTANT_INTERRUPT_BEFORE_TOOLS", "maybe")
    with pytest.raises(ConfigurationError, match="ASSISTANT_INTERRUPT_BEFORE_TOOLS"):
        Context()
