"""code_interpreter inside runs: the server executes the calls in the real sandboxed interpreter,
records them as run steps, and loops back to the model; driven by the real openai SDK over HTTP.

The offline model plays scripts (``ASSISTANTS_SERVER_OFFLINE_SCRIPT``) that ask for given code;
the chat-completions backend talks to the scripted local endpoint. Files go up and come down
through the SDK's Files API (``files.create``, ``files.retrieve``, ``files.content``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from fake_chat_completions import FakeChatCompletions
from langchain_community.agents.openai_assistant import OpenAIAssistantV2Runnable
from langchain_core.agents import AgentFinish
from openapi_contract import Contract
from server_helpers import CALCULATOR_TOOL, make_client, sdk_client, wait_for_status

ANSWER = str(10 - 4**2.7)
INTERPRETER = {"type": "code_interpreter"}
FINAL = {"completed", "failed", "requires_action", "incomplete", "expired", "cancelled"}
CSV = b"city,population\nParis,2102650\nLyon,522250\nMarseille,873076\n"
SCRIPT = [
    {
        "match": "summarise",
        "turns": [
            {
                "tool_calls": [
                    {
                        "type": "code_interpreter",
                        "arguments": {
                            "code": (
                                "import csv, glob\n"
                                "(path,) = glob.glob('/mnt/data/file-*')\n"
                                "rows = list(csv.DictReader(open(path)))\n"
                                "print(len(rows), 'rows; total', sum(int(r['population']) "
                                "for r in rows))"
                            )
                        },
                    }
                ]
            },
            {"text": "The file has 3 cities."},
        ],
    },
    {
        "match": "plot",
        "turns": [
            {
                "tool_calls": [
                    {
                        "type": "code_interpreter",
                        "arguments": {
                            "code": (
                                "import matplotlib.pyplot as plt\n"
                                "plt.plot([1, 2, 3], [1, 4, 9])\nplt.show()"
                            )
                        },
                    }
                ]
            },
            {"text": "Here is the plot."},
        ],
    },
    {
        "match": "write",
        "turns": [
            {
                "tool_calls": [
                    {
                        "type": "code_interpreter",
                        "arguments": {
                            "code": (
                                "with open('/mnt/data/squares.csv', 'w') as f:\n"
                                "    f.write('n,square\\n' + ''.join(f'{n},{n*n}\\n' "
                                "for n in range(4)))\nprint('written')"
                            )
                        },
                    }
                ]
            },
            {"text": "Download [squares.csv](sandbox:/mnt/data/squares.csv)."},
        ],
    },
    {
        "match": "remember",
        "turns": [
            {"tool_calls": [{"type": "code_interpreter", "arguments": {"code": "secret = 41"}}]},
            {"text": "Remembered."},
        ],
    },
    {
        "match": "recall",
        "turns": [
            {
                "tool_calls": [
                    {"type": "code_interpreter", "arguments": {"code": "print(secret + 1)"}}
                ]
            },
            {"text": "Recalled."},
        ],
    },
]


def body(raw: Any) -> Any:
    return json.loads(raw.http_response.text)


def settle(client: openai.OpenAI, thread_id: str, run_id: str) -> Any:
    return wait_for_status(client, thread_id, run_id, FINAL)


@pytest.fixture
def scripted(start_server: Callable[..., EmbeddedServer], tmp_path: Path) -> EmbeddedServer:
    """A server whose offline model plays :data:`SCRIPT`."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    return start_server(offline_script=str(script))


def ask(client: openai.OpenAI, question: str, **assistant: Any) -> tuple[Any, Any]:
    """Create an assistant with the interpreter, ask ``question`` on a new thread; the run."""
    created = client.beta.assistants.create(model="m", tools=[INTERPRETER], **assistant)
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=created.id)
    return created, settle(client, thread.id, run.id)


def interpreter_calls(client: openai.OpenAI, run: Any) -> list[Any]:
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id, order="asc")
    return [
        call
        for step in steps.data
        if step.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "code_interpreter"
    ]


def test_seed_question_is_answered_by_running_code(
    server_without_script: Any, contract: Contract
) -> None:
    """Offline, "What's 10 - 4 raised to the 2.7" runs print(10 - 4 ** 2.7) in the interpreter
    and answers from its output; the step and message validate against the spec."""
    client = make_client(server_without_script)
    _, run = ask(client, "What's 10 - 4 raised to the 2.7")
    assert run.status == "completed", run.last_error
    (call,) = interpreter_calls(client, run)
    assert call.code_interpreter.input == "print(10 - 4 ** 2.7)"
    assert [o.model_dump() for o in call.code_interpreter.outputs] == [
        {"type": "logs", "logs": ANSWER + "\n"}
    ]
    steps = body(
        client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=run.thread_id)
    )
    contract.check("ListRunStepsResponse", steps)
    assert [s["type"] for s in steps["data"]] == ["message_creation", "tool_calls"]  # newest first
    messages = body(client.beta.threads.messages.with_raw_response.list(run.thread_id))
    contract.check("ListMessagesResponse", messages)
    assert messages["data"][0]["content"][0]["text"]["value"] == f"10 - 4 ** 2.7 = {ANSWER}"


SEED_INSTRUCTIONS = "You are a personal math tutor. Write and run code to answer math questions."
SEED_QUESTION = {"content": "What's 10 - 4 raised to the 2.7"}


def _seed_answer(output: Any, as_agent: bool) -> str:
    if as_agent:
        assert isinstance(output, AgentFinish)
        return str(output.return_values["output"])
    return "".join(block.text.value for block in output[-1].content if block.type == "text")


@pytest.mark.parametrize("as_agent", [False, True])
def test_seed_example_sync(server_without_script: EmbeddedServer, as_agent: bool) -> None:
    """The runnable's documented example (code_interpreter only) returns 10 - 4**2.7 offline."""
    server = server_without_script
    assistant = OpenAIAssistantV2Runnable.create_assistant(
        name="math assistant",
        instructions=SEED_INSTRUCTIONS,
        tools=[INTERPRETER],
        model="gpt-4-1106-preview",
        client=sdk_client(server.base_url, server.api_key),
        as_agent=as_agent,
        check_every_ms=10,
    )
    output = assistant.invoke(SEED_QUESTION)
    assert ANSWER in _seed_answer(output, as_agent)


@pytest.mark.parametrize("as_agent", [False, True])
def test_seed_example_async(server_without_script: EmbeddedServer, as_agent: bool) -> None:
    """The same example through ``acreate_assistant`` and ``ainvoke``."""
    server = server_without_script

    async def scenario() -> Any:
        async_client = openai.AsyncOpenAI(
            base_url=server.base_url, api_key=server.api_key, max_retries=0
        )
        try:
            assistant = await OpenAIAssistantV2Runnable.acreate_assistant(
                name="math assistant",
                instructions=SEED_INSTRUCTIONS,
                tools=[INTERPRETER],
                model="gpt-4-1106-preview",
                async_client=async_client,
                client=sdk_client(server.base_url, server.api_key),
                as_agent=as_agent,
                check_every_ms=10,
            )
            return await assistant.ainvoke(SEED_QUESTION)
        finally:
            await async_client.close()

    assert ANSWER in _seed_answer(asyncio.run(scenario()), as_agent)


def test_streamed_interpreter_step_follows_the_spec(
    server_without_script: Any, contract: Contract
) -> None:
    """A streamed run sends the interpreter step as created, in_progress, a delta with the code,
    a delta with the logs, completed; every frame validates against the spec."""
    client = make_client(server_without_script)
    assistant = client.beta.assistants.create(model="m", tools=[INTERPRETER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's 2 + 3?"}])
    with client.beta.threads.runs.with_streaming_response.create(
        thread.id, assistant_id=assistant.id, stream=True
    ) as response:
        lines = list(response.iter_lines())
    frames: list[tuple[str, Any]] = []
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event != "done":
            frames.append((event, json.loads(line[6:])))
    for name, data in frames:
        contract.check_event(name, data)
    step_events = [
        (name, data)
        for name, data in frames
        if name.startswith("thread.run.step.")
        and (data.get("type") == "tool_calls" or "step_details" in data.get("delta", {}))
    ]
    assert [name for name, _ in step_events] == [
        "thread.run.step.created",
        "thread.run.step.in_progress",
        "thread.run.step.delta",
        "thread.run.step.delta",
        "thread.run.step.completed",
    ]
    code = step_events[2][1]["delta"]["step_details"]["tool_calls"][0]["code_interpreter"]
    logs = step_events[3][1]["delta"]["step_details"]["tool_calls"][0]["code_interpreter"]
    assert code == {"input": "print(2 + 3)", "outputs": []}
    assert logs == {"outputs": [{"index": 0, "type": "logs", "logs": "5\n"}]}
    assert frames[-1][0] == "thread.run.completed"


@pytest.fixture
def server_without_script(start_server: Callable[..., EmbeddedServer]) -> EmbeddedServer:
    """A server with the default offline model and interpreter."""
    return start_server()


def test_uploaded_csv_is_summarised_by_code(scripted: EmbeddedServer) -> None:
    """A CSV uploaded and attached to the thread for code_interpreter is in /mnt/data; the code
    reads it."""
    client = make_client(scripted)
    uploaded = client.files.create(file=("cities.csv", CSV), purpose="assistants")
    assistant = client.beta.assistants.create(model="m", tools=[INTERPRETER])
    thread = client.beta.threads.create(
        messages=[
            {
                "role": "user",
                "content": "Please summarise this file",
                "attachments": [{"file_id": uploaded.id, "tools": [INTERPRETER]}],
            }
        ]
    )
    run = settle(
        client, thread.id, client.beta.threads.runs.create(thread.id, assistant_id=assistant.id).id
    )
    assert run.status == "completed", run.last_error
    (call,) = interpreter_calls(client, run)
    assert call.code_interpreter.outputs[0].logs == "3 rows; total 3497976\n"


def test_matplotlib_figure_becomes_an_image_file(
    scripted: EmbeddedServer, contract: Contract
) -> None:
    """A figure is stored as a PNG file (purpose assistants_output), shown as an image output of
    the step and as image_file content of the answer."""
    client = make_client(scripted)
    _, run = ask(client, "plot squares")
    assert run.status == "completed", run.last_error
    (call,) = interpreter_calls(client, run)
    (image,) = [o for o in call.code_interpreter.outputs if o.type == "image"]
    messages = body(client.beta.threads.messages.with_raw_response.list(run.thread_id))
    contract.check("ListMessagesResponse", messages)
    content = messages["data"][0]["content"]
    assert content[0]["text"]["value"] == "Here is the plot."
    assert content[1] == {"type": "image_file", "image_file": {"file_id": image.image.file_id}}
    assert client.files.retrieve(image.image.file_id).purpose == "assistants_output"
    assert client.files.content(image.image.file_id).content.startswith(b"\x89PNG")


def test_file_written_by_code_is_linked_with_a_file_path_annotation(
    scripted: EmbeddedServer, contract: Contract
) -> None:
    """A file the code writes under /mnt/data becomes a stored file, cited by a file_path
    annotation on its sandbox: link and attached to the answer; files.content downloads the
    bytes the code wrote."""
    client = make_client(scripted)
    _, run = ask(client, "write a table of squares")
    assert run.status == "completed", run.last_error
    raw = client.beta.threads.messages.with_raw_response.list(run.thread_id)
    contract.check("ListMessagesResponse", body(raw))
    message = client.beta.threads.messages.list(run.thread_id).data[0]
    text = message.content[0].text
    (annotation,) = text.annotations
    assert annotation.type == "file_path"
    assert text.value[annotation.start_index : annotation.end_index] == (
        "sandbox:/mnt/data/squares.csv"
    )
    assert [a.file_id for a in message.attachments] == [annotation.file_path.file_id]
    file_id = annotation.file_path.file_id
    assert client.files.content(file_id).content == b"n,square\n0,0\n1,1\n2,4\n3,9\n"
    stored = client.files.retrieve(file_id)
    assert (stored.filename, stored.purpose) == ("squares.csv", "assistants_output")


def test_state_is_kept_between_two_runs_of_a_thread(scripted: EmbeddedServer) -> None:
    """A variable set by code in one run of a thread is there in the thread's next run."""
    client = make_client(scripted)
    assistant, run = ask(client, "remember a number")
    assert run.status == "completed", run.last_error
    client.beta.threads.messages.create(run.thread_id, role="user", content="recall it")
    second = client.beta.threads.runs.create(run.thread_id, assistant_id=assistant.id)
    second = settle(client, run.thread_id, second.id)
    assert second.status == "completed", second.last_error
    (call,) = interpreter_calls(client, second)
    assert call.code_interpreter.outputs[0].logs == "42\n"


def test_run_fails_clearly_without_a_sandbox(start_server: Callable[..., EmbeddedServer]) -> None:
    """Without bubblewrap the run fails with a last_error saying what to install, and the
    interpreter step is marked failed (not completed)."""
    server = start_server(interpreter_bwrap_path="/nonexistent/bwrap")
    client = make_client(server)
    _, run = ask(client, "What's 2 + 3?")
    assert run.status == "failed"
    assert run.last_error.code == "server_error"
    assert "bubblewrap" in run.last_error.message
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=run.thread_id).data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "failed")]


def test_chat_completions_model_calls_the_interpreter_and_loops(
    start_server: Callable[..., EmbeddedServer],
) -> None:
    """The chat model calls the code_interpreter function; the server runs the code, records the
    step, and calls the model again with the output, which it answers from."""
    with FakeChatCompletions() as fake:
        fake.add_tool_calls(("code_interpreter", {"code": "print(6 * 7)"}))
        fake.add_text("The answer is 42.")
        server = start_server(model_base_url=fake.base_url, model_api_key="k")
        client = make_client(server)
        _, run = ask(client, "What is 6 times 7?")
        assert run.status == "completed", run.last_error
        (call,) = interpreter_calls(client, run)
        assert call.code_interpreter.outputs[0].logs == "42\n"
        first, second = (r.body for r in fake.requests)
        assert [t["function"]["name"] for t in first["tools"]] == ["code_interpreter"]
        called, result = second["messages"][-2:]
        assert called["tool_calls"][0]["function"] == {
            "name": "code_interpreter",
            "arguments": json.dumps({"code": "print(6 * 7)"}),
        }
        assert result == {"role": "tool", "tool_call_id": call.id, "content": "42\n"}
        answer = client.beta.threads.messages.list(run.thread_id).data[0]
        assert answer.content[0].text.value == "The answer is 42."


def test_mixed_turn_runs_the_interpreter_then_asks_for_the_function(
    start_server: Callable[..., EmbeddedServer],
) -> None:
    """A turn with an interpreter call and a function call: the interpreter runs server-side
    (its own completed step), then the run requires_action for the function call only."""
    with FakeChatCompletions() as fake:
        fake.add_tool_calls(
            ("code_interpreter", {"code": "print(2 ** 10)"}),
            ("calculator", {"expression": "1+1"}),
        )
        fake.add_text("1024 and 2.")
        server = start_server(model_base_url=fake.base_url, model_api_key="k")
        client = make_client(server)
        assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL, INTERPRETER])
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "2**10, 1+1"}])
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        run = settle(client, thread.id, run.id)
        assert run.status == "requires_action", run.last_error
        (pending,) = run.required_action.submit_tool_outputs.tool_calls
        assert pending.function.name == "calculator"
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
        assert [(s.step_details.tool_calls[0].type, s.status) for s in steps] == [
            ("code_interpreter", "completed"),
            ("function", "in_progress"),
        ]
        assert steps[0].step_details.tool_calls[0].code_interpreter.outputs[0].logs == "1024\n"
        client.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": pending.id, "output": "2"}]
        )
        run = settle(client, thread.id, run.id)
        assert run.status == "completed", run.last_error
        tool_results = [m for m in fake.requests[1].body["messages"] if m["role"] == "tool"]
        assert [m["content"] for m in tool_results] == ["1024\n", "2"]


def test_interpreter_step_cut_by_a_restart_is_failed_and_the_turn_asked_again(
    start_server: Callable[..., EmbeddedServer], tmp_path: Path
) -> None:
    """A server stopped while code runs leaves the step in_progress; the server that takes the
    run over marks that step failed (never completed), asks the model's turn again, and the
    run completes."""
    script = tmp_path / "slow.json"
    slow = {"type": "code_interpreter", "arguments": {"code": "import time\ntime.sleep(60)"}}
    rules = [{"match": "slow", "turns": [{"tool_calls": [slow]}, {"text": "Finished."}]}]
    script.write_text(json.dumps(rules), encoding="utf-8")
    first = start_server(offline_script=str(script))
    client = make_client(first)
    assistant = client.beta.assistants.create(model="m", tools=[INTERPRETER])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "be slow"}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    for _ in range(3000):
        steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
        if steps:
            break
        time.sleep(0.01)
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "in_progress")]
    first.stop()
    second = start_server(offline_script=str(script), interpreter_wall_seconds=1)
    client = make_client(second)
    run = settle(client, thread.id, run.id)
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [
        ("tool_calls", "failed"),
        ("tool_calls", "completed"),
        ("message_creation", "completed"),
    ]
    assert steps[0].last_error.code == "server_error"
    assert steps[0].step_details.tool_calls[0].code_interpreter.outputs == []
    assert "timed out" in steps[1].step_details.tool_calls[0].code_interpreter.outputs[0].logs
