"""The runnable subclass fixes upstream's endpoint, listing and run-ending behaviour."""

from __future__ import annotations

import asyncio

import openai
import pytest
from assistant_graph.graph.errors import RunEndedError
from assistant_graph.graph.runnable import AssistantRunnable
from langchain_classic.agents.openai_assistant.base import (
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
)


@pytest.fixture
def sdk(scripted_server):
    server = scripted_server(
        [
            {
                "match": "add",
                "turns": [
                    {"tool_calls": [{"name": "calculator", "arguments": {"expression": "1+1"}}]},
                    {"text": "two"},
                ],
            },
            {
                "match": "fail",
                "turns": [{"error": {"message": "model down", "code": "server_error"}}],
            },
        ]
    )
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    assistant = client.beta.assistants.create(model="m", name="runnable-test")
    yield client, assistant.id
    client.close()


def test_missing_async_client_keeps_the_endpoint(sdk):
    """Upstream builds ``AsyncOpenAI(api_key=...)`` (public host); ours makes its async client
    on first use, once, from the sync client's endpoint: ``ainvoke`` reaches the same server."""
    client, assistant_id = sdk
    runnable = AssistantRunnable(client=client, assistant_id=assistant_id)
    assert runnable.as_agent is True

    async def twice():
        first = await runnable.ainvoke({"content": "add please"})
        second = await runnable.ainvoke({"content": "add again"})
        await runnable.aclient().close()
        return first, second

    first, second = asyncio.run(twice())
    assert first[0].tool_input == {"expression": "1+1"}
    assert second[0].tool_input == {"expression": "1+1"}
    assert runnable.aclient() is runnable.async_client, "made once, then kept"


def test_sync_round_trip_returns_actions_then_finish(sdk):
    """A new message gives OpenAIAssistantAction(s); submitting their outputs gives the finish."""
    client, assistant_id = sdk
    runnable = AssistantRunnable(client=client, assistant_id=assistant_id)
    actions = runnable.invoke({"content": "add please"})
    assert len(actions) == 1 and isinstance(actions[0], OpenAIAssistantAction)
    assert actions[0].tool_input == {"expression": "1+1"}
    assert (actions[0].log, actions[0].message_ids) == ("", []), "no text in a tools-only step"
    deltas: list[str] = []
    finish = runnable.invoke(
        {
            "thread_id": actions[0].thread_id,
            "run_id": actions[0].run_id,
            "tool_outputs": [{"tool_call_id": actions[0].tool_call_id, "output": "2"}],
        },
        on_text_delta=deltas.append,
    )
    assert isinstance(finish, OpenAIAssistantFinish)
    assert finish.return_values["output"] == "two"
    assert "".join(deltas) == "two"


def test_async_round_trip(sdk):
    """The async path gives the same results (with its own async client)."""
    client, assistant_id = sdk

    async def go():
        async_client = openai.AsyncOpenAI(base_url=client.base_url, api_key=client.api_key)
        async with async_client:
            runnable = AssistantRunnable(
                client=client, async_client=async_client, assistant_id=assistant_id
            )
            actions = await runnable.ainvoke({"content": "add please"})
            return await runnable.ainvoke(
                {
                    "thread_id": actions[0].thread_id,
                    "run_id": actions[0].run_id,
                    "tool_outputs": [{"tool_call_id": actions[0].tool_call_id, "output": "2"}],
                }
            )

    assert asyncio.run(go()).return_values["output"] == "two"


def test_failed_run_raises_a_readable_error(sdk):
    """A failed run raises RunEndedError with status and last_error, not a dump of the run."""
    client, assistant_id = sdk
    runnable = AssistantRunnable(client=client, assistant_id=assistant_id)
    with pytest.raises(RunEndedError) as info:
        runnable.invoke({"content": "fail now"})
    assert info.value.status == "failed"
    assert "model down" in str(info.value)
    assert "Full run info" not in str(info.value)
