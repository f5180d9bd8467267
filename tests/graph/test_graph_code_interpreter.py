"""A turn whose run used code_interpreter shows the step in the graph's state and streams."""

from __future__ import annotations

import asyncio

import openai
from assistant_graph.graph import Context, build_graph, provisioning
from assistant_graph.graph.cli import main
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver

INTERPRETER = {"type": "code_interpreter"}
ANSWER = str(10 - 4**2.7)
QUESTION = "What's 10 - 4 raised to the 2.7?"
CONFIG = {"configurable": {"thread_id": "interpreter-1"}}


def _graph() -> object:
    return build_graph(checkpointer=InMemorySaver(), tools=[], builtin_tools=[INTERPRETER])


def _check_step_message(step: AIMessage) -> None:
    assert not step.tool_calls
    assert step.content == f"```python\nprint(10 - 4 ** 2.7)\n```\n{ANSWER}"
    (call,) = step.additional_kwargs["assistant_tool_calls"]
    assert call["type"] == "code_interpreter"
    assert call["code_interpreter"]["outputs"] == [{"type": "logs", "logs": ANSWER + "\n"}]
    assert step.id.startswith("step_")
    assert step.response_metadata["assistant_run_id"].startswith("run_")


def test_state_and_streams_show_the_interpreter_step(server):
    """invoke: Human → AI(code and output) → AI answer in state; stream_mode "updates" and
    "messages" both carry the step message before the answer."""
    graph = _graph()
    context = Context(base_url=server.base_url)
    chunks = list(
        graph.stream(
            {"messages": [HumanMessage(QUESTION)]},
            CONFIG,
            context=context,
            stream_mode=["updates", "messages"],
        )
    )
    messages = graph.get_state(CONFIG).values["messages"]
    assert [type(m) for m in messages] == [HumanMessage, AIMessage, AIMessage]
    step, answer = messages[1:]
    _check_step_message(step)
    assert answer.content == f"10 - 4 ** 2.7 = {ANSWER}"
    updates = [data for mode, data in chunks if mode == "updates" and "assistant" in data]
    assert [m.id for m in updates[0]["assistant"]["messages"]] == [step.id, answer.id]
    streamed_ids = [data[0].id for mode, data in chunks if mode == "messages"]
    assert step.id in streamed_ids  # sent whole when the assistant node ends


def test_async_turn_shows_the_interpreter_step(server):
    """ainvoke gives the same step message and answer."""
    graph = _graph()

    async def turn() -> dict:
        return await graph.ainvoke(
            {"messages": [HumanMessage(QUESTION)]},
            CONFIG,
            context=Context(base_url=server.base_url),
        )

    messages = asyncio.run(turn())["messages"]
    _check_step_message(messages[1])
    assert ANSWER in messages[2].content


def test_cli_prints_the_code_and_its_output(server, tmp_path, capsys, monkeypatch):
    """``ask`` with an assistant that has code_interpreter prints the code the server ran and
    its output before the answer."""
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
    with client:
        assistant = client.beta.assistants.create(model="m", tools=[INTERPRETER])
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    monkeypatch.setenv("ASSISTANT_ID", assistant.id)
    assert main(["ask", QUESTION, "--db", str(tmp_path / "c.sqlite3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "→ code_interpreter",
        "  print(10 - 4 ** 2.7)",
        f"← code_interpreter: {ANSWER}",
        f"10 - 4 ** 2.7 = {ANSWER}",
    ]


WRITE_RULE = {
    "match": "table",
    "turns": [
        {
            "tool_calls": [
                {
                    "type": "code_interpreter",
                    "arguments": {
                        "code": "open('/mnt/data/table.csv', 'w').write('a,b\\n1,2\\n')",
                    },
                }
            ]
        },
        {"text": "Here: sandbox:/mnt/data/table.csv"},
    ],
}


def _ask_for_a_table(scripted_server, tmp_path, monkeypatch, *flags: str) -> list[str]:
    tmp_path.mkdir(exist_ok=True)
    server = scripted_server([WRITE_RULE])
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key, max_retries=0)
    with client:
        assistant = client.beta.assistants.create(model="m", tools=[INTERPRETER])
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    monkeypatch.setenv("ASSISTANT_ID", assistant.id)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["ask", "make a table", "--db", str(tmp_path / "c.sqlite3"), *flags]) == 0
    return sorted(path.name for path in work.iterdir())


def test_cli_saves_returned_files_only_with_save_files(
    scripted_server, tmp_path, capsys, monkeypatch
):
    """Without --save-files the CLI names the returned file and writes nothing; with it, the
    file the code wrote is downloaded into the working directory under its name."""
    assert _ask_for_a_table(scripted_server, tmp_path, monkeypatch) == []
    assert "(save them here with --save-files)" in capsys.readouterr().out
    provisioning.clear_cache()
    assert _ask_for_a_table(scripted_server, tmp_path / "again", monkeypatch, "--save-files") == [
        "table.csv"
    ]
    assert (tmp_path / "again" / "work" / "table.csv").read_bytes() == b"a,b\n1,2\n"
    assert "saved table.csv (file-" in capsys.readouterr().out


def test_astream_events_report_the_step_before_the_answer_text(server):
    """While the run streams, the step arrives as the custom event ``assistant_server_step``
    (the run-step object), before the first token of the answer."""
    graph = _graph()

    async def events() -> list[tuple[str, object]]:
        seen = []
        async for event in graph.astream_events(
            {"messages": [HumanMessage(QUESTION)]},
            CONFIG,
            context=Context(base_url=server.base_url),
            version="v2",
        ):
            if event["event"] == "on_custom_event":
                seen.append((event["name"], event["data"]))
            elif event["event"] == "on_chat_model_stream":
                seen.append(("token", event["data"]["chunk"].content))
        return seen

    seen = asyncio.run(events())
    names = [name for name, _ in seen]
    assert "assistant_server_step" in names and "token" in names
    assert names.index("assistant_server_step") < names.index("token")
    step = dict(seen)["assistant_server_step"]
    assert step["step_details"]["tool_calls"][0]["code_interpreter"]["input"] == (
        "print(10 - 4 ** 2.7)"
    )
