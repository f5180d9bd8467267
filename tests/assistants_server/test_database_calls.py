"""Each run request is one trip to the database thread, keys and checks included.

A keyed, streamed conversation with one tool round is counted call by call on the server's
database thread: creating the thread and run (with the idempotency key claimed, the run
recorded on it and the worker's first attempt begun), recording the tool calls, the submit
(checked, re-queued, key claimed, next attempt begun), and writing the answer. The count does
not depend on the machine, so it guards the work per step that the step-overhead benchmark
measures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
from assistant_graph.assistants_server.embedded import EmbeddedServer
from scripted_backend import ScriptedBackend
from server_helpers import keyed_streamed_tool_round, tool_round_assistant


def _record_calls(server: EmbeddedServer) -> list[str]:
    """Names of the functions the store runs on its database thread, from now on."""
    store = server.context.store
    names: list[str] = []
    original: Callable[..., Any] = store.call

    async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        names.append(getattr(function, "__name__", repr(function)))
        return await original(function, *args, **kwargs)

    store.call = call  # type: ignore[method-assign]
    return names


def test_a_keyed_streamed_tool_round_takes_one_database_call_per_step(
    server: EmbeddedServer, client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    assistant_id = tool_round_assistant(client, backend)
    calls = _record_calls(server)

    keyed_streamed_tool_round(client, assistant_id)

    assert calls == [
        "_create_run",  # thread, message, run, key claim + record, first attempt begun
        "_record_tool_calls",  # the tool_calls step, requires_action
        "_requeue_with_outputs",  # checks, outputs, key claim + record, next attempt begun
        "_start_assistant_message",  # the answer's message and step, on its first text
        "_finish_assistant_message",  # the message completed, the run completed
    ]
