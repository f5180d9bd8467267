"""Turn the runnable's agent output into chat messages and state updates.

``OpenAIAssistantAction`` lists become one ``AIMessage`` with ``tool_calls`` (and, as its
content, the text the model wrote in the same step); an ``OpenAIAssistantFinish`` becomes an
``AIMessage`` with the answer; a run that ended without an answer becomes an ``AIMessage`` that
says so. Steps the server ran itself (``code_interpreter``) come first, one ``AIMessage``
each (:mod:`graph.server_steps`); the answer's ``response_metadata["assistant_file_ids"]`` lists
the images and files the run returned, and its ``additional_kwargs["annotations"]`` the text's
annotations (``file_citation`` with the cited file's ``file_name`` added, ``file_path``), their
indices into the message's ``content``. Message ids are stable: the Assistants message id of the
step's text (the id its streamed deltas carried), else one derived from the run and its tool
call ids, so a step re-run after a crash replaces instead of duplicating.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant_graph.graph.errors import RunEndedError
from assistant_graph.graph.planning import ToolCallResult
from assistant_graph.graph.run_response import tool_call_message_id
from assistant_graph.graph.server_steps import (
    ANNOTATIONS_KEY,
    named_citations,
    produced_file_ids,
    step_messages,
)
from langchain_classic.agents.openai_assistant.base import (
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
)
from langchain_core.messages import AIMessage

EXPIRED_RUN_NOTE = (
    "(The run that asked for these tool results expired before they could be submitted; "
    "here they are. Please continue answering my previous message using them.)"
)


def response_to_update(response: Any) -> dict[str, Any]:
    """State update for the runnable's output (a list of actions, or a finish)."""
    if isinstance(response, OpenAIAssistantFinish):
        return finish_to_update(response)
    actions = list(response)
    if not actions or not all(isinstance(a, OpenAIAssistantAction) for a in actions):
        raise TypeError(f"Unexpected assistant output: {response!r}")
    return actions_to_update(actions)


def actions_to_update(actions: Sequence[OpenAIAssistantAction]) -> dict[str, Any]:
    """One AI message with a tool call per action; the run now awaits their outputs."""
    first = actions[0]
    message_ids = list(getattr(first, "message_ids", None) or [])
    message = AIMessage(
        id=message_ids[-1]
        if message_ids
        else tool_call_message_id(first.run_id, [a.tool_call_id for a in actions]),
        content=first.log or "",
        tool_calls=[
            {"id": a.tool_call_id, "name": a.tool, "args": _args(a.tool_input), "type": "tool_call"}
            for a in actions
        ],
        response_metadata={
            "assistant_run_id": first.run_id,
            "assistant_thread_id": first.thread_id,
            "assistant_message_ids": message_ids,
        },
    )
    steps = list(getattr(first, "server_steps", None) or [])
    return {
        "messages": [*step_messages(steps), message],
        "assistant_thread_id": first.thread_id,
        "pending_run_id": first.run_id,
    }


def finish_to_update(finish: OpenAIAssistantFinish) -> dict[str, Any]:
    """Turn the answer into an AI message; no run is pending any more."""
    values = finish.return_values
    message_ids = values.get("message_ids") or []
    output = values.get("output", "")
    steps = list(values.get("server_steps") or [])
    metadata = {
        "assistant_run_id": finish.run_id,
        "assistant_thread_id": finish.thread_id,
        "assistant_message_ids": list(message_ids),
    }
    file_ids = produced_file_ids(steps, values.get("attachments") or [])
    if file_ids:
        metadata["assistant_file_ids"] = file_ids
    annotations = named_citations(values.get("annotations") or [], steps)
    message = AIMessage(
        id=message_ids[-1] if message_ids else f"{finish.run_id}-answer",
        content=output if isinstance(output, str) else str(output),
        additional_kwargs={ANNOTATIONS_KEY: annotations} if annotations else {},
        response_metadata=metadata,
    )
    return {
        "messages": [*step_messages(steps), message],
        "assistant_thread_id": finish.thread_id,
        "pending_run_id": "",
    }


def run_ended_to_update(error: RunEndedError) -> dict[str, Any]:
    """Report a run that ended without an answer as an AI message."""
    message = AIMessage(
        id=f"{error.run_id}-{error.status}",
        content=error.describe(),
        response_metadata={
            "assistant_run_id": error.run_id,
            "assistant_thread_id": error.thread_id,
            "assistant_run_status": error.status,
        },
    )
    return {"messages": [message], "assistant_thread_id": error.thread_id, "pending_run_id": ""}


def expired_results_text(results: Sequence[ToolCallResult]) -> str:
    """User message that carries the tool results of an expired run into a new run."""
    lines = [EXPIRED_RUN_NOTE]
    for r in results:
        status = "error" if r.is_error else "result"
        lines.append(f"- {r.name}({_compact(r.args)}) [call {r.call_id}] {status}: {r.output}")
    return "\n".join(lines)


def _args(tool_input: Any) -> dict[str, Any]:
    return tool_input if isinstance(tool_input, dict) else {"input": tool_input}


def _compact(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
