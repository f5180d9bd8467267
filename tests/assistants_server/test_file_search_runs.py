"""file_search inside runs, through the stock openai SDK over HTTP: the server searches the run's
vector stores, records the step, and the answer cites the files with ``file_citation``
annotations. The offline model quotes the passages itself; the chat-completions backend talks
to the scripted local endpoint, which calls ``file_search`` and then cites a marker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends import NOT_CONFIGURED_REPLY
from assistant_graph.assistants_server.embedded import EmbeddedServer
from fake_chat_completions import FakeChatCompletions
from openapi_contract import Contract
from server_helpers import make_client

REFUNDS = (
    "# Refunds\n\nCustomers may return any item within thirty days of delivery. The refund "
    "reaches the original payment card in five business days."
)
SHIPPING = "Parcels ship from the Lyon warehouse. Express delivery takes two days."
QUESTION = "How many days do customers have to return an item for a refund?"
CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
SEARCH = {"type": "file_search"}


def upload(client: openai.OpenAI, filename: str, content: str) -> str:
    return client.files.create(file=(filename, content.encode()), purpose="assistants").id


def body(raw: Any) -> Any:
    return raw.http_response.json()


@pytest.fixture
def offline(start_server: Callable[..., EmbeddedServer]) -> EmbeddedServer:
    """A server with the offline model (no script)."""
    return start_server()


@pytest.fixture
def library(offline: EmbeddedServer) -> dict[str, str]:
    """Two files indexed into one vector store (file_batches.create_and_poll)."""
    client = make_client(offline)
    files = {"refunds": upload(client, "refunds.md", REFUNDS)}
    files["shipping"] = upload(client, "shipping.txt", SHIPPING)
    store = client.vector_stores.create(name="help")
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=list(files.values()), poll_interval_ms=20
    )
    assert batch.file_counts.completed == 2
    return {**files, "store": store.id}


def ask(client: openai.OpenAI, assistant_id: str, question: str, **run: Any) -> tuple[Any, Any]:
    """Ask ``question`` in a new thread; return the completed run and its answer message."""
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    done = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant_id, poll_interval_ms=20, **run
    )
    assert done.status == "completed", done.last_error
    answer = client.beta.threads.messages.list(thread.id, run_id=done.id).data[0]
    return done, answer


def search_steps(client: openai.OpenAI, run: Any, **options: Any) -> list[dict[str, Any]]:
    raw = client.beta.threads.runs.steps.with_raw_response.list(
        run.id, thread_id=run.thread_id, order="asc", **options
    )
    return [s for s in body(raw)["data"] if s["type"] == "tool_calls"]


def check_citations(text: Any) -> list[Any]:
    """Every annotation's indices select exactly its text; return the file citations."""
    for annotation in text.annotations:
        assert text.value[annotation.start_index : annotation.end_index] == annotation.text
    return [a for a in text.annotations if a.type == "file_citation"]


def test_offline_run_answers_from_the_right_file_and_cites_it(
    offline: EmbeddedServer, library: dict[str, str], contract: Contract
) -> None:
    """Upload → vector store → batch → run: the offline model searches, quotes the refunds
    passage and cites refunds.md; step and message validate against the spec."""
    client = make_client(offline)
    assistant = client.beta.assistants.create(
        model="m",
        tools=[SEARCH],
        tool_resources={"file_search": {"vector_store_ids": [library["store"]]}},
    )
    run, answer = ask(client, assistant.id, QUESTION)
    text = answer.content[0].text
    assert "thirty days" in text.value and "refunds.md" in text.value
    citations = check_citations(text)
    assert citations and citations[0].file_citation.file_id == library["refunds"]
    (step,) = search_steps(client, run)
    contract.check("RunStepObject", step)
    (call,) = step["step_details"]["tool_calls"]
    assert call["type"] == "file_search"
    assert call["file_search"]["ranking_options"] == {"ranker": "auto", "score_threshold": 0.0}
    results = call["file_search"]["results"]
    assert results[0]["file_id"] == library["refunds"]
    assert results[0]["file_name"] == "refunds.md" and 0 < results[0]["score"] <= 1
    assert all("content" not in result for result in results)
    raw = client.beta.threads.messages.with_raw_response.list(run.thread_id)
    contract.check("ListMessagesResponse", body(raw))


def test_without_files_the_offline_model_keeps_its_fixed_reply(offline: EmbeddedServer) -> None:
    """An assistant with file_search but nothing to search gets the fixed reply, no search step."""
    client = make_client(offline)
    assistant = client.beta.assistants.create(model="m", tools=[SEARCH])
    run, answer = ask(client, assistant.id, QUESTION)
    assert answer.content[0].text.value == NOT_CONFIGURED_REPLY
    assert answer.content[0].text.annotations == []
    assert search_steps(client, run) == []


def test_include_adds_result_content_to_steps_and_streams(
    offline: EmbeddedServer, library: dict[str, str], contract: Contract
) -> None:
    """Result content shows only where include[] asks for it: steps list and retrieve, and the
    step events of a run created with it; without include it is left out."""
    client = make_client(offline)
    assistant = client.beta.assistants.create(
        model="m",
        tools=[SEARCH],
        tool_resources={"file_search": {"vector_store_ids": [library["store"]]}},
    )
    run, _ = ask(client, assistant.id, QUESTION)
    (with_content,) = search_steps(client, run, include=[CONTENT])
    contract.check("RunStepObject", with_content)
    first = with_content["step_details"]["tool_calls"][0]["file_search"]["results"][0]
    assert first["content"] == [{"type": "text", "text": REFUNDS}]
    retrieved = client.beta.threads.runs.steps.with_raw_response.retrieve(
        with_content["id"], thread_id=run.thread_id, run_id=run.id, include=[CONTENT]
    )
    assert body(retrieved)["step_details"] == with_content["step_details"]
    plain = client.beta.threads.runs.steps.retrieve(
        with_content["id"], thread_id=run.thread_id, run_id=run.id
    )
    assert plain.step_details.tool_calls[0].file_search.results[0].content is None

    for include, shown in (([CONTENT], True), ([], False)):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        with client.beta.threads.runs.with_streaming_response.create(
            thread.id, assistant_id=assistant.id, stream=True, include=include
        ) as response:
            lines = list(response.iter_lines())
        events, event = [], None
        for line in lines:
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event != "done":
                events.append((event, json.loads(line[6:])))
        for name, data in events:
            contract.check_event(name, data)
        (completed,) = [
            data
            for name, data in events
            if name == "thread.run.step.completed" and data["type"] == "tool_calls"
        ]
        results = completed["step_details"]["tool_calls"][0]["file_search"]["results"]
        assert all(("content" in result) == shown for result in results)


def test_bad_include_is_refused_clearly(offline: EmbeddedServer, library: dict[str, str]) -> None:
    """An unknown include value is a 400 naming the value and the one supported."""
    client = make_client(offline)
    assistant = client.beta.assistants.create(model="m", tools=[SEARCH])
    thread = client.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.threads.runs.create(
            thread.id, assistant_id=assistant.id, include=["step_details.everything"]
        )
    assert "step_details.everything" in str(caught.value) and CONTENT in str(caught.value)


@pytest.mark.parametrize(("threshold", "found"), [(0.0, True), (0.99, False)])
def test_assistant_search_options_are_honoured(
    offline: EmbeddedServer, library: dict[str, str], threshold: float, found: bool
) -> None:
    """max_num_results and ranking_options of the assistant's file_search tool reach the step:
    one result (the shipping file) at threshold 0; none above every score, and the offline
    model then says it found no passage."""
    client = make_client(offline)
    options = {
        "max_num_results": 1,
        "ranking_options": {"ranker": "default_2024_08_21", "score_threshold": threshold},
    }
    assistant = client.beta.assistants.create(
        model="m",
        tools=[{"type": "file_search", "file_search": options}],
        tool_resources={"file_search": {"vector_store_ids": [library["store"]]}},
    )
    run, answer = ask(client, assistant.id, "When does express delivery arrive from Lyon?")
    (step,) = search_steps(client, run)
    search = step["step_details"]["tool_calls"][0]["file_search"]
    assert search["ranking_options"] == options["ranking_options"]
    expected = [library["shipping"]] if found else []
    assert [r["file_id"] for r in search["results"]] == expected
    assert ("found no passage" in answer.content[0].text.value) != found


def test_file_search_attachments_make_the_thread_vector_store(offline: EmbeddedServer) -> None:
    """A message attaching a file for file_search creates the thread's vector store holding it;
    a run (the assistant has no store) waits for its indexing and cites the file."""
    client = make_client(offline)
    file_id = upload(client, "refunds.md", REFUNDS)
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content=QUESTION,
        attachments=[{"file_id": file_id, "tools": [SEARCH]}],
    )
    stores = client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    assert len(stores) == 1
    store = client.vector_stores.retrieve(stores[0])
    assert store.expires_after is not None and store.expires_after.days == 7
    listed = client.vector_stores.files.list(vector_store_id=stores[0])
    assert [f.id for f in listed.data] == [file_id]
    assistant = client.beta.assistants.create(model="m", tools=[SEARCH])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
    )
    assert run.status == "completed", run.last_error
    answer = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    (citation, *_) = check_citations(answer.content[0].text)
    assert citation.file_citation.file_id == file_id
    second = upload(client, "shipping.txt", SHIPPING)
    client.beta.threads.messages.create(
        thread.id,
        role="user",
        content="And shipping?",
        attachments=[{"file_id": second, "tools": [SEARCH]}],
    )
    again = client.beta.threads.retrieve(thread.id).tool_resources.file_search.vector_store_ids
    assert again == stores
    listed = client.vector_stores.files.list(vector_store_id=stores[0])
    assert sorted(f.id for f in listed.data) == sorted([file_id, second])


def test_chat_model_searches_then_cites_a_marker(
    start_server: Callable[..., EmbeddedServer],
) -> None:
    """The chat model gets a file_search function, calls it; the server searches and returns
    numbered passages with markers; the marker the model writes becomes a file_citation."""
    with FakeChatCompletions() as fake:
        fake.add_tool_calls(("file_search", {"query": "return refund days"}))
        fake.add_text("Customers have thirty days to return an item【0†source】.")
        server = start_server(model_base_url=fake.base_url, model_api_key="k")
        client = make_client(server)
        refunds = upload(client, "refunds.md", REFUNDS)
        shipping = upload(client, "shipping.txt", SHIPPING)
        store = client.vector_stores.create(name="help")
        batch = client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[refunds, shipping], poll_interval_ms=20
        )
        assert batch.file_counts.completed == 2
        assistant = client.beta.assistants.create(
            model="m",
            tools=[SEARCH],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        run, answer = ask(client, assistant.id, QUESTION)
        first, second = (r.body for r in fake.requests)
        assert [t["function"]["name"] for t in first["tools"]] == ["file_search"]
        assert first["tools"][0]["function"]["parameters"]["required"] == ["query"]
        called, result = second["messages"][-2:]
        assert called["tool_calls"][0]["function"] == {
            "name": "file_search",
            "arguments": json.dumps({"query": "return refund days"}),
        }
        assert "【0†source】 refunds.md" in result["content"]
        assert "thirty days of delivery" in result["content"]
        text = answer.content[0].text
        (citation,) = check_citations(text)
        assert citation.text == "【0†source】"
        assert citation.file_citation.file_id == refunds
        (step,) = search_steps(client, run)
        assert step["step_details"]["tool_calls"][0]["file_search"]["results"][0]["file_id"] == (
            refunds
        )


def _stream_events(response: Any) -> list[tuple[str, Any]]:
    events, event = [], None
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event != "done":
            events.append((event, json.loads(line[6:])))
    return events


def test_submit_tool_outputs_takes_include_and_two_searches_number_markers_apart(
    start_server: Callable[..., EmbeddedServer], contract: Contract
) -> None:
    """A search after submitted function outputs streams its content when the submit asked with
    include[]; a second search in the run numbers its markers after the first one's, so the
    answer's two markers cite two different files."""
    with FakeChatCompletions() as fake:
        fake.add_tool_calls(("file_search", {"query": "refund days"}))
        fake.add_tool_calls(("calculator", {"expression": "30 - 2"}))
        fake.add_tool_calls(("file_search", {"query": "express delivery Lyon"}))
        fake.add_text("Thirty days【0†source】; express takes two days【1†source】.")
        server = start_server(model_base_url=fake.base_url, model_api_key="k")
        client = make_client(server)
        refunds = upload(client, "refunds.md", REFUNDS)
        shipping = upload(client, "shipping.txt", SHIPPING)
        store = client.vector_stores.create(name="help")
        client.vector_stores.file_batches.create_and_poll(
            vector_store_id=store.id, file_ids=[refunds, shipping], poll_interval_ms=20
        )
        assistant = client.beta.assistants.create(
            model="m",
            tools=[
                {"type": "file_search", "file_search": {"max_num_results": 1}},
                {
                    "type": "function",
                    "function": {
                        "name": "calculator",
                        "parameters": {
                            "type": "object",
                            "properties": {"expression": {"type": "string"}},
                        },
                    },
                },
            ],
            tool_resources={"file_search": {"vector_store_ids": [store.id]}},
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20
        )
        assert run.status == "requires_action", run.last_error
        (pending,) = run.required_action.submit_tool_outputs.tool_calls
        with client.beta.threads.runs.with_streaming_response.submit_tool_outputs(
            run.id,
            thread_id=thread.id,
            tool_outputs=[{"tool_call_id": pending.id, "output": "28"}],
            stream=True,
            extra_query={"include": [CONTENT]},  # the SDK's method has no include argument
        ) as response:
            events = _stream_events(response)
        for name, data in events:
            contract.check_event(name, data)
        (search,) = [
            data
            for name, data in events
            if name == "thread.run.step.completed" and data["type"] == "tool_calls"
        ]
        (result,) = search["step_details"]["tool_calls"][0]["file_search"]["results"]
        assert result["file_id"] == shipping and result["content"][0]["text"] == SHIPPING
        answer = client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
        citations = check_citations(answer.content[0].text)
        assert [c.file_citation.file_id for c in citations] == [refunds, shipping]
        last = fake.requests[-1].body["messages"][-1]["content"]
        assert last.startswith('1 passage(s) of the user\'s files match "express delivery Lyon"')
        assert "【1†source】 shipping.txt" in last


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"max_num_results": 51}, "max_num_results"),
        ({"ranking_options": {"score_threshold": 1.5}}, "score_threshold"),
        ({"ranking_options": {"ranker": "best", "score_threshold": 0}}, "ranker"),
    ],
)
def test_bad_file_search_options_are_refused(
    offline: EmbeddedServer, options: dict[str, Any], named: str
) -> None:
    """Out-of-range file_search settings on an assistant are a 400 naming the setting."""
    client = make_client(offline)
    with pytest.raises(openai.BadRequestError) as caught:
        client.beta.assistants.create(
            model="m", tools=[{"type": "file_search", "file_search": options}]
        )
    assert named in str(caught.value)
