"""Every endpoint through the real openai SDK, each response body validated against the spec."""

from __future__ import annotations

import json
from typing import Any

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest, Usage
from openapi_contract import Contract
from scripted_backend import ScriptedBackend
from server_helpers import CALCULATOR_TOOL, wait_for_status


def body(raw: Any) -> Any:
    return json.loads(raw.http_response.text)


def test_every_endpoint_matches_the_openapi_spec(
    client: openai.OpenAI, backend: ScriptedBackend, contract: Contract
) -> None:
    """Assistants, threads, messages, runs and steps: each response validates against its schema."""
    beta = client.beta
    created = body(
        beta.assistants.with_raw_response.create(
            model="gpt-4o",
            name="A",
            instructions="Be brief.",
            tools=[CALCULATOR_TOOL, {"type": "code_interpreter"}],
            metadata={"team": "x"},
        )
    )
    contract.check("AssistantObject", created)
    assert created["id"].startswith("asst_") and created["metadata"] == {"team": "x"}
    asst_id = created["id"]
    contract.check("AssistantObject", body(beta.assistants.with_raw_response.retrieve(asst_id)))
    modified = body(beta.assistants.with_raw_response.update(asst_id, name="B"))
    contract.check("AssistantObject", modified)
    assert modified["name"] == "B" and modified["instructions"] == "Be brief."
    contract.check("ListAssistantsResponse", body(beta.assistants.with_raw_response.list()))

    thread = body(
        beta.threads.with_raw_response.create(
            messages=[{"role": "user", "content": "hi", "metadata": {"k": "v"}}],
            metadata={"a": "b"},
        )
    )
    contract.check("ThreadObject", thread)
    assert thread["id"].startswith("thread_")
    thread_id = thread["id"]
    contract.check("ThreadObject", body(beta.threads.with_raw_response.retrieve(thread_id)))
    contract.check(
        "ThreadObject", body(beta.threads.with_raw_response.update(thread_id, metadata={"a": "c"}))
    )

    message = body(
        beta.threads.messages.with_raw_response.create(
            thread_id, role="user", content="What is 2+2?"
        )
    )
    contract.check("MessageObject", message)
    assert message["id"].startswith("msg_") and message["attachments"] == []
    contract.check(
        "MessageObject",
        body(beta.threads.messages.with_raw_response.retrieve(message["id"], thread_id=thread_id)),
    )
    contract.check(
        "MessageObject",
        body(
            beta.threads.messages.with_raw_response.update(
                message["id"], thread_id=thread_id, metadata={"seen": "yes"}
            )
        ),
    )
    contract.check(
        "ListMessagesResponse", body(beta.threads.messages.with_raw_response.list(thread_id))
    )

    backend.add(
        ModelTurn(
            tool_calls=[
                ToolCallRequest("calculator", '{"expression": "2+2"}'),
                ToolCallRequest("calculator", '{"expression": "3+3"}'),
            ],
            usage=Usage(10, 5),
        ),
        ModelTurn(text="2+2 = 4 and 3+3 = 6", usage=Usage(20, 7)),
    )
    run = body(beta.threads.runs.with_raw_response.create(thread_id, assistant_id=asst_id))
    contract.check("RunObject", run)
    assert run["id"].startswith("run_") and run["status"] == "queued"
    waiting = wait_for_status(client, thread_id, run["id"], {"requires_action"})
    raw = beta.threads.runs.with_raw_response.retrieve(run["id"], thread_id=thread_id)
    assert raw.http_response.headers["openai-poll-after-ms"] == "25"
    contract.check("RunObject", body(raw))
    calls = waiting.required_action.submit_tool_outputs.tool_calls
    assert len({c.id for c in calls}) == 2 and all(c.id.startswith("call_") for c in calls)
    contract.check(
        "RunObject",
        body(
            beta.threads.runs.with_raw_response.update(
                run["id"], thread_id=thread_id, metadata={"tag": "1"}
            )
        ),
    )
    submitted = body(
        beta.threads.runs.with_raw_response.submit_tool_outputs(
            run["id"],
            thread_id=thread_id,
            tool_outputs=[{"tool_call_id": c.id, "output": "4"} for c in calls],
        )
    )
    contract.check("RunObject", submitted)
    done = wait_for_status(client, thread_id, run["id"], {"completed"})
    assert done.usage.total_tokens == 42 and done.metadata == {"tag": "1"}
    contract.check(
        "RunObject",
        body(beta.threads.runs.with_raw_response.retrieve(run["id"], thread_id=thread_id)),
    )
    contract.check("ListRunsResponse", body(beta.threads.runs.with_raw_response.list(thread_id)))
    steps = body(
        beta.threads.runs.steps.with_raw_response.list(run["id"], thread_id=thread_id, order="asc")
    )
    contract.check("ListRunStepsResponse", steps)
    assert [s["type"] for s in steps["data"]] == ["tool_calls", "message_creation"]
    assert steps["data"][0]["step_details"]["tool_calls"][0]["function"]["output"] == "4"
    for step in steps["data"]:
        assert step["id"].startswith("step_")
        contract.check(
            "RunStepObject",
            body(
                beta.threads.runs.steps.with_raw_response.retrieve(
                    step["id"], thread_id=thread_id, run_id=run["id"]
                )
            ),
        )
    run_messages = body(beta.threads.messages.with_raw_response.list(thread_id, run_id=run["id"]))
    contract.check("ListMessagesResponse", run_messages)
    assert [m["content"][0]["text"]["value"] for m in run_messages["data"]] == [
        "2+2 = 4 and 3+3 = 6"
    ]

    backend.add(ModelTurn(text="hello"))
    tr = body(
        beta.threads.with_raw_response.create_and_run(
            assistant_id=asst_id,
            thread={"messages": [{"role": "user", "content": "hey"}], "metadata": {"m": "1"}},
            metadata={"r": "1"},
            instructions="Override",
            temperature=0.5,
            top_p=0.9,
            max_completion_tokens=500,
            max_prompt_tokens=1000,
            parallel_tool_calls=False,
        )
    )
    contract.check("RunObject", tr)
    assert (
        tr["instructions"] == "Override"
        and tr["temperature"] == 0.5
        and tr["parallel_tool_calls"] is False
    )
    cancelled_thread = body(beta.threads.with_raw_response.delete(tr["thread_id"]))
    contract.check("DeleteThreadResponse", cancelled_thread)
    contract.check(
        "DeleteAssistantResponse", body(beta.assistants.with_raw_response.delete(asst_id))
    )


def test_model_request_carries_run_overrides_and_history(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """The worker sends instructions + additional_instructions, the thread and tool round trips."""
    backend.add(
        ModelTurn(tool_calls=[ToolCallRequest("calculator", '{"expression": "1+1"}')]),
        ModelTurn(text="2"),
    )
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "1+1?"}])
    run = client.beta.threads.runs.create(
        thread.id,
        assistant_id=assistant.id,
        additional_instructions="Answer in digits.",
        model="other-model",
        temperature=0.2,
        top_p=0.3,
        max_completion_tokens=300,
        parallel_tool_calls=False,
        tools=[CALCULATOR_TOOL],
        tool_choice="required",
    )
    waiting = wait_for_status(client, thread.id, run.id, {"requires_action"})
    call = waiting.required_action.submit_tool_outputs.tool_calls[0]
    client.beta.threads.runs.submit_tool_outputs(
        run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "2"}]
    )
    wait_for_status(client, thread.id, run.id, {"completed"})
    first, second = backend.requests
    assert first.model == "other-model" and first.temperature == 0.2 and first.top_p == 0.3
    assert first.max_completion_tokens == 300 and first.parallel_tool_calls is False
    assert first.tool_choice == "required" and first.tools == [CALCULATOR_TOOL]
    assert first.messages == [
        {"role": "system", "content": "You are a math tutor.\n\nAnswer in digits."},
        {"role": "user", "content": "1+1?"},
    ]
    assert second.messages[2:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "calculator", "arguments": '{"expression": "1+1"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "2"},
    ]
