"""What ``graph/compiled_graph.py`` relies on in LangGraph (pinned to langgraph 1.2.x).

The module re-creates the compiled graph as an ``AssistantGraph`` from its attributes (as
``Pregel.copy`` does) and guards the input in ``stream``/``astream``. These tests fail loudly
when a LangGraph release builds compiled graphs differently or routes an entry point around
``stream``/``astream``.
"""

from __future__ import annotations

import asyncio
from importlib.metadata import version

import pytest
from assistant_graph.graph import InvalidInputError, build_graph
from assistant_graph.graph.compiled_graph import AssistantGraph, as_assistant_graph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph

CONFIG = {"configurable": {"thread_id": "contract"}}
BAD = {"messages": []}


def test_the_installed_langgraph_is_the_pinned_minor_version():
    """``pyproject.toml`` pins langgraph 1.2.x; another minor version needs this module checked."""
    assert version("langgraph").startswith("1.2."), version("langgraph")


def test_the_re_created_graph_keeps_every_attribute_of_the_compiled_one():
    """Every attribute ``StateGraph.compile`` set is carried over unchanged, and ``copy``
    (``with_config``, ``langgraph dev``) keeps the class."""
    builder = StateGraph(MessagesState)
    builder.add_node("echo", lambda state: {"messages": [("ai", "hi")]})
    builder.add_edge(START, "echo")
    compiled = builder.compile(checkpointer=InMemorySaver(), name="contract")
    graph = as_assistant_graph(compiled)
    assert isinstance(graph, AssistantGraph)
    for name, value in vars(compiled).items():
        if name != "__orig_class__":
            assert getattr(graph, name) == value, name
    assert isinstance(graph.with_config(tags=["x"]), AssistantGraph)
    assert graph.invoke({"messages": [("user", "q")]}, CONFIG)["messages"][-1].content == "hi"


def test_every_entry_point_goes_through_the_guarded_stream():
    """``invoke``, ``batch``, ``stream`` and their async forms, and ``astream_events`` reach
    ``stream``/``astream``: a bad input is refused by each and nothing is saved."""
    saver = InMemorySaver()
    graph = build_graph(checkpointer=saver)

    sync_calls = [
        lambda: graph.invoke(BAD, CONFIG),
        lambda: graph.batch([BAD], [CONFIG]),
        lambda: list(graph.stream(BAD, CONFIG)),
    ]
    for call in sync_calls:
        with pytest.raises(InvalidInputError):
            call()

    async def consume(stream) -> None:
        async for _ in stream:
            pass

    async_calls = [
        lambda: graph.ainvoke(BAD, CONFIG),
        lambda: graph.abatch([BAD], [CONFIG]),
        lambda: consume(graph.astream(BAD, CONFIG)),
        lambda: consume(graph.astream_events(BAD, CONFIG, version="v2")),
    ]
    for call in async_calls:
        with pytest.raises(InvalidInputError):
            asyncio.run(call())
    assert saver.get_tuple(CONFIG) is None
