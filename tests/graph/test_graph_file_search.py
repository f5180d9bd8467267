"""A turn whose run used file_search shows the search step in the graph's state and streams,
and the answer's citations reach the AIMessage (``additional_kwargs["annotations"]``) and the
CLI."""

from __future__ import annotations

import asyncio
import time

import openai
from assistant_graph.graph import Context, build_graph
from assistant_graph.graph.cli import main
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

SEARCH = {"type": "file_search"}
REFUNDS = (
    "# Refunds\n\nCustomers may return any item within thirty days of delivery. The refund "
    "reaches the original payment card in five business days."
)
QUESTION = "How many days do customers have to return an item?"


def _assistant_with_files(server) -> tuple[str, str]:
    """An assistant whose vector store holds refunds.md; return its id and the file's id."""
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
    with client:
        file_id = client.files.create(
            file=("refunds.md", REFUNDS.encode()), purpose="assistants"
        ).id
        store = client.vector_stores.create(name="graph-help")
        batch = client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[file_id], poll_interval_ms=20
        )
        assert batch.file_counts.completed == 1
        assistant = client.beta.assistants.create(
            model="m",
            tools=[SEARCH],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
    return assistant.id, file_id


def test_state_and_streams_show_the_search_and_the_citations(server):
    """stream: Human → AI(search step) → AI answer; the step message lists the file found; the
    answer carries file_citation annotations whose indices select the marker in its content."""
    assistant_id, file_id = _assistant_with_files(server)
    graph = build_graph(checkpointer=InMemorySaver(), tools=[], builtin_tools=[SEARCH])
    config = {"configurable": {"thread_id": f"search-{time.time_ns()}"}}
    context = Context(base_url=server.base_url, assistant_id=assistant_id)
    chunks = list(
        graph.stream(
            {"messages": [HumanMessage(QUESTION)]},
            config,
            context=context,
            stream_mode=["updates", "messages"],
        )
    )
    messages = graph.get_state(config).values["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, AIMessage]
    step, answer = messages[1:]
    assert step.content.startswith("file_search found: refunds.md (")
    (call,) = step.additional_kwargs["assistant_tool_calls"]
    assert call["type"] == "file_search" and call["file_search"]["results"][0]["file_id"] == file_id
    annotations = answer.additional_kwargs["annotations"]
    assert annotations, answer
    for annotation in annotations:
        start, end = annotation["start_index"], annotation["end_index"]
        assert answer.content[start:end] == annotation["text"]
    assert annotations[0]["file_citation"] == {"file_id": file_id, "file_name": "refunds.md"}
    streamed_ids = [data[0].id for mode, data in chunks if mode == "messages"]
    assert step.id in streamed_ids


def test_cli_prints_the_search_and_the_cited_files(server, tmp_path, capsys, monkeypatch):
    """``ask`` prints the search step, the answer, then the cited file names under it."""
    assistant_id, file_id = _assistant_with_files(server)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    monkeypatch.setenv("ASSISTANT_ID", assistant_id)
    assert main(["ask", QUESTION, "--db", str(tmp_path / "c.sqlite3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    step = lines.index("→ file_search")
    assert lines[step + 1].startswith("← file_search found: refunds.md (")
    assert any("thirty days" in line and line.endswith("【0†source】") for line in lines)
    sources = lines.index("sources:")
    assert lines[sources + 1] == f"  [1] refunds.md ({file_id})"


def test_async_turn_carries_the_citations(server):
    """ainvoke gives the same search step message and a cited answer."""
    assistant_id, file_id = _assistant_with_files(server)
    graph = build_graph(checkpointer=InMemorySaver(), tools=[], builtin_tools=[SEARCH])
    config = {"configurable": {"thread_id": f"search-async-{time.time_ns()}"}}

    async def turn() -> dict:
        return await graph.ainvoke(
            {"messages": [HumanMessage(QUESTION)]},
            config,
            context=Context(base_url=server.base_url, assistant_id=assistant_id),
        )

    step, answer = asyncio.run(turn())["messages"][1:]
    assert step.additional_kwargs["assistant_tool_calls"][0]["type"] == "file_search"
    (citation, *_) = answer.additional_kwargs["annotations"]
    assert citation["file_citation"]["file_id"] == file_id
    assert answer.content[citation["start_index"] : citation["end_index"]] == citation["text"]
