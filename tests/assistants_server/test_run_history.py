"""A run's later model steps see the same thread as a fresh read would.

The worker reads a thread's pre-run history once per run and then only the run's own messages
and steps; these tests pin what every model request of a multi-step run must contain: text the
run itself wrote mid-run, each tool round trip in order, ``last_messages`` truncation, and a
message deleted while the run waits for tool outputs.
"""

from __future__ import annotations

from typing import Any

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from scripted_backend import ScriptedBackend
from server_helpers import wait_for_status

SYSTEM = {"role": "system", "content": "You are a math tutor."}


def _calc(expression: str) -> ToolCallRequest:
    return ToolCallRequest("calculator", f'{{"expression": "{expression}"}}')


def _submit(client: openai.OpenAI, thread_id: str, run_id: str, output: str) -> str:
    """Answer the run's single pending call with ``output``; return the call id."""
    waiting = wait_for_status(client, thread_id, run_id, {"requires_action"})
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]
    client.beta.threads.runs.submit_tool_outputs(
        run_id, thread_id=thread_id, tool_outputs=[{"tool_call_id": call.id, "output": output}]
    )
    return str(call.id)


def _round_trip(call_id: str, expression: str, output: str) -> list[dict[str, Any]]:
    return [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call_id,
                    "type": "function",
                    "function": {
                        "name": "calculator",
                        "arguments": f'{{"expression": "{expression}"}}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": output},
    ]


def test_later_steps_see_mid_run_text_tool_rounds_and_truncation(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """With last_messages=2, each step sees the last two messages (incl. the run's own text)."""
    backend.add(
        ModelTurn(text="First answer."),
        ModelTurn(text="Let me compute.", tool_calls=[_calc("2+2")]),
        ModelTurn(tool_calls=[_calc("4*2")]),
        ModelTurn(text="8"),
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "q1"}])
    first = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(client, thread.id, first.id, {"completed"})
    client.beta.threads.messages.create(thread.id, role="user", content="q2")
    run = client.beta.threads.runs.create(
        thread.id,
        assistant_id=assistant.id,
        truncation_strategy={"type": "last_messages", "last_messages": 2},
    )
    call_1 = _submit(client, thread.id, run.id, "4")
    call_2 = _submit(client, thread.id, run.id, "8")
    wait_for_status(client, thread.id, run.id, {"completed"})

    _, step_1, step_2, step_3 = backend.requests
    assert step_1.messages == [
        SYSTEM,
        {"role": "assistant", "content": "First answer."},
        {"role": "user", "content": "q2"},
    ]
    # The text written with the first tool call is one assistant turn with that call, as the
    # model produced it, not two assistant messages.
    first_round = _round_trip(call_1, "2+2", "4")
    first_round[0] = {**first_round[0], "content": "Let me compute."}
    mid_run = [SYSTEM, {"role": "user", "content": "q2"}, *first_round]
    assert step_2.messages == mid_run
    assert step_3.messages == mid_run + _round_trip(call_2, "4*2", "8")


def test_message_deleted_while_run_waits_is_gone_from_the_next_step(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """Deleting a thread message during requires_action removes it from the next request."""
    backend.add(ModelTurn(tool_calls=[_calc("1+1")]), ModelTurn(text="2"))
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": "keep"}, {"role": "user", "content": "drop"}]
    )
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(client, thread.id, run.id, {"requires_action"})
    dropped = [
        m.id
        for m in client.beta.threads.messages.list(thread.id)
        if m.content[0].text.value == "drop"
    ]
    client.beta.threads.messages.delete(dropped[0], thread_id=thread.id)
    call = _submit(client, thread.id, run.id, "2")
    wait_for_status(client, thread.id, run.id, {"completed"})

    first, second = backend.requests
    assert [m["content"] for m in first.messages[1:]] == ["keep", "drop"]
    keep = {"role": "user", "content": "keep"}
    assert second.messages == [SYSTEM, keep, *_round_trip(call, "1+1", "2")]


def test_offline_script_turn_with_text_and_tool_calls_counts_as_one_turn(
    start_server: Any, tmp_path: Any
) -> None:
    """A scripted turn that writes text and calls a tool is one assistant turn for the next call,
    so the script's following turn (the answer) is the one played."""
    import json

    from server_helpers import CALCULATOR_TOOL, make_client

    script = tmp_path / "script.json"
    script.write_text(
        json.dumps(
            [
                {
                    "match": "compute",
                    "turns": [
                        {
                            "text": "Let me compute that.",
                            "tool_calls": [
                                {"name": "calculator", "arguments": {"expression": "6*7"}}
                            ],
                        },
                        {"text": "It is 42."},
                    ],
                }
            ]
        )
    )
    server = start_server(offline_script=str(script))  # no backend given: the offline model
    client = make_client(server)
    assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "compute it"}])
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    _submit(client, thread.id, run.id, "42")
    wait_for_status(client, thread.id, run.id, {"completed"})
    texts = [
        m.content[0].text.value
        for m in client.beta.threads.messages.list(thread.id, run_id=run.id, order="asc")
    ]
    assert texts == ["Let me compute that.", "It is 42."]
