"""A rejected graph input leaves the thread's checkpoint exactly as it was (SQLite saver): input
the graph can check is refused before LangGraph saves it; a user message the Assistants endpoint
refuses is taken out of the checkpoint again."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from assistant_graph.graph import Context, InvalidInputError, build_graph
from assistant_graph.graph.errors import (
    EMPTY_CONTENT,
    NO_MESSAGES,
    MessageRejectedError,
    UnknownAssistantError,
)
from assistant_graph.graph.input_check import MAX_USER_MESSAGE_CHARS, validate_graph_input
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

CONFIG = {"configurable": {"thread_id": "validated"}}

BAD_INPUTS = [
    pytest.param({"messages": []}, NO_MESSAGES, id="no-messages"),
    pytest.param({}, NO_MESSAGES, id="no-messages-key"),
    pytest.param({"messages": [{"role": "user", "content": ""}]}, EMPTY_CONTENT, id="empty"),
    pytest.param({"messages": [HumanMessage(" \n ")]}, EMPTY_CONTENT, id="whitespace"),
    pytest.param({"messages": [{"role": "user"}]}, "message 1 has no 'content'", id="no-content"),
    pytest.param(
        {"messages": [{"role": "user", "content": 42}]}, "content of type int", id="number"
    ),
    pytest.param({"messages": [42]}, "cannot be read", id="not-a-message"),
    pytest.param(
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "x"}]}]},
        "must be a string",
        id="image-block",
    ),
    pytest.param({"messages": [AIMessage("hi")]}, "must end with a user message", id="ai-last"),
    pytest.param(["hello"], "must be a mapping", id="not-a-mapping"),
]


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on a fresh file."""
    connection = sqlite3.connect(tmp_path / "checkpoints.sqlite3", check_same_thread=False)
    yield SqliteSaver(connection)
    connection.close()


@pytest.mark.parametrize(("payload", "message"), BAD_INPUTS)
def test_validation_names_the_problem(payload, message):
    """Each kind of bad input raises InvalidInputError whose message says what is wrong."""
    with pytest.raises(InvalidInputError) as info:
        validate_graph_input(payload)
    assert message in str(info.value)


def test_valid_inputs_pass():
    """User text as a dict, a message object, a tuple, a string or text blocks is accepted."""
    for messages in (
        [{"role": "user", "content": "hi"}],
        [HumanMessage("hi")],
        [("user", "hi")],
        "hi",
        [{"type": "human", "content": [{"type": "text", "text": "hi"}]}],
    ):
        validate_graph_input({"messages": messages})


def test_bad_inputs_leave_the_checkpoint_unchanged(server, saver, request_log):
    """After a finished turn, every bad input is rejected with its message, sends no request,
    adds no checkpoint and leaves ``get_state`` working and equal to before; the next valid
    turn is then answered on the same Assistants thread."""
    graph = build_graph(checkpointer=saver, client=request_log.sync_client(server))
    graph.invoke({"messages": [HumanMessage("What's 1 + 2?")]}, CONFIG)
    before = graph.get_state(CONFIG)
    history = len(list(saver.list(CONFIG)))
    request_log.clear()

    for param in BAD_INPUTS:
        payload, message = param.values
        with pytest.raises(InvalidInputError) as info:
            graph.invoke(payload, CONFIG)
        assert message in str(info.value), param.id
        after = graph.get_state(CONFIG)
        assert after.values == before.values, param.id
        assert after.config == before.config, param.id
        assert after.next == ()
        assert len(list(saver.list(CONFIG))) == history, param.id
    assert request_log.requests == []

    result = graph.invoke({"messages": [HumanMessage("What's 2 * 5?")]}, CONFIG)
    assert "10" in result["messages"][-1].content
    assert [type(m) for m in result["messages"]][-4:] == [
        HumanMessage,
        AIMessage,
        ToolMessage,
        AIMessage,
    ]
    state = graph.get_state(CONFIG).values
    assert state["assistant_thread_id"] == before.values["assistant_thread_id"]


def test_bad_first_input_creates_no_thread(server, saver):
    """A bad input on a new thread saves nothing at all (no checkpoint for the thread)."""
    graph = build_graph(checkpointer=saver)
    with pytest.raises(InvalidInputError):
        graph.invoke(
            {"messages": [{"role": "user", "content": ""}]},
            CONFIG,
            context=Context(base_url=server.base_url),
        )
    assert saver.get_tuple(CONFIG) is None
    assert graph.get_state(CONFIG).values == {}


def test_bad_input_is_rejected_on_the_async_stream_path(server):
    """``astream`` rejects the input the same way (the check is in the compiled graph)."""
    saver = InMemorySaver()
    graph = build_graph(checkpointer=saver)

    async def go() -> None:
        async for _ in graph.astream(
            {"messages": []}, CONFIG, context=Context(base_url=server.base_url)
        ):
            pass

    with pytest.raises(InvalidInputError, match="no messages"):
        asyncio.run(go())
    assert saver.get_tuple(CONFIG) is None


def test_copies_of_the_graph_keep_the_check_and_the_graph_still_draws():
    """``with_config``/``copy`` (what ``langgraph dev`` does) keep the input check, and the
    graph still draws."""
    graph = build_graph(checkpointer=InMemorySaver()).with_config(tags=["copied"])
    with pytest.raises(InvalidInputError, match="no messages"):
        graph.invoke({"messages": []}, CONFIG)
    assert "assistant" in graph.get_graph().nodes
    assert "assistant" in asyncio.run(graph.aget_graph()).nodes


def test_unencodable_or_too_long_text_is_rejected_before_the_save(server, saver, request_log):
    """A lone surrogate anywhere in the input, or a user message over the documented limit,
    is an InvalidInputError that names it; nothing is sent and no checkpoint is added."""
    graph = build_graph(checkpointer=saver, client=request_log.sync_client(server))
    graph.invoke({"messages": [HumanMessage("What's 1 + 2?")]}, CONFIG)
    history = len(list(saver.list(CONFIG)))
    request_log.clear()
    for payload, message in (
        ({"messages": [{"role": "user", "content": "bad \ud800 text"}]}, "lone surrogate"),
        ({"messages": [("user", "x" * (MAX_USER_MESSAGE_CHARS + 1))]}, "the limit is 256000"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            graph.invoke(payload, CONFIG)
    assert request_log.requests == []
    assert len(list(saver.list(CONFIG))) == history


def _messages(graph, config) -> list[tuple[str, str]]:
    values = graph.get_state(config).values
    return [(type(m).__name__, m.content) for m in values.get("messages", [])]


@pytest.mark.parametrize("first_turn", [True, False], ids=["first-turn", "later-turn"])
def test_a_message_the_server_refuses_is_taken_out_of_the_checkpoint(
    scripted_server, saver, first_turn
):
    """A message the endpoint refuses (413: over its body limit, below the graph's own) raises
    MessageRejectedError naming the status; the checkpoint's messages and next node are those
    from before the turn, and the next turn is answered on the same conversation."""
    server = scripted_server([], max_body_bytes=4000)
    graph = build_graph(checkpointer=saver)
    context = Context(base_url=server.base_url)
    if not first_turn:
        graph.invoke({"messages": [HumanMessage("What's 1 + 2?")]}, CONFIG, context=context)
    before = _messages(graph, CONFIG)

    with pytest.raises(MessageRejectedError, match="413") as info:
        graph.invoke({"messages": [("user", "y" * 10_000)]}, CONFIG, context=context)
    assert "not saved" in str(info.value)
    assert _messages(graph, CONFIG) == before
    assert graph.get_state(CONFIG).next == ()

    result = graph.invoke({"messages": [("user", "hello again")]}, CONFIG, context=context)
    assert [kind for kind, _ in _messages(graph, CONFIG)] == [
        *[kind for kind, _ in before],
        "HumanMessage",
        "AIMessage",
    ]
    assert result["messages"][-1].content


def test_an_unknown_assistant_leaves_the_checkpoint_as_it_was(server):
    """An unknown ASSISTANT_ID fails the turn with UnknownAssistantError; the user message is
    not kept (async path too), and the next turn with a valid configuration works."""
    graph = build_graph(checkpointer=InMemorySaver())
    good = Context(base_url=server.base_url)
    graph.invoke({"messages": [HumanMessage("What's 1 + 2?")]}, CONFIG, context=good)
    before = _messages(graph, CONFIG)
    bad = Context(base_url=server.base_url, assistant_id="asst_does_not_exist")

    with pytest.raises(UnknownAssistantError, match="asst_does_not_exist"):
        graph.invoke({"messages": [("user", "sync question")]}, CONFIG, context=bad)
    assert _messages(graph, CONFIG) == before

    async def go() -> None:
        await graph.ainvoke({"messages": [("user", "async question")]}, CONFIG, context=bad)

    with pytest.raises(UnknownAssistantError):
        asyncio.run(go())
    assert _messages(graph, CONFIG) == before

    graph.invoke({"messages": [("user", "What's 2 + 2?")]}, CONFIG, context=good)
    after = _messages(graph, CONFIG)
    assert after[: len(before)] == before
    assert after[len(before)] == ("HumanMessage", "What's 2 + 2?")
    assert after[-1][0] == "AIMessage"
