"""Prompt building: a thread's stored messages and tool rounds → the model's chat messages.

Every call builds new dicts for one model request: nothing is shared between requests, so a
backend may change the messages it is given without touching another thread's prompt. What a
message in a final state becomes (its chat content) never changes, so it is converted once and
kept (:data:`CONTENT_CACHE_SIZE` messages, by id: ids are never reused); text content is an
immutable string, and image parts are copied for every request.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

from assistant_graph.assistants_server.backends.builtin_functions import chat_tool_call
from assistant_graph.assistants_server.store.history import FINAL_STATUSES
from assistant_graph.assistants_server.store.tool_steps import CALL_ARGUMENTS, SERVER_OUTPUTS

CONTENT_CACHE_SIZE = 65536
"""How many final messages keep their converted chat content (least recently used dropped)."""
_contents: OrderedDict[str, str | list[dict[str, Any]]] = OrderedDict()


def _text_of(content: list[dict[str, Any]]) -> str:
    return "".join(block["text"]["value"] for block in content if block.get("type") == "text")


def chat_content(content: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Assistants content blocks → Chat Completions content (string unless images)."""
    if all(block.get("type") == "text" for block in content):
        return _text_of(content)
    parts: list[dict[str, Any]] = []
    for block in content:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": block["text"]["value"]})
        elif block.get("type") == "image_url":
            parts.append({"type": "image_url", "image_url": dict(block["image_url"])})
        elif block.get("type") == "image_file":
            parts.append({"type": "text", "text": f"[image file {block['image_file']['file_id']}]"})
    return parts


def _message_content(row: Any) -> str | list[dict[str, Any]]:
    """Return the chat content of a message row, converted once per final message."""
    content = _contents.get(row.id)
    if content is None:
        content = chat_content(row.data.get("content", []))
        if row.status not in FINAL_STATUSES:
            return content
        _contents[row.id] = content
        if len(_contents) > CONTENT_CACHE_SIZE:
            _contents.popitem(last=False)
    return content if isinstance(content, str) else copy.deepcopy(content)


def tool_round(
    calls: list[dict[str, Any]],
    server_outputs: dict[str, str] | None = None,
    call_arguments: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Return a tool-calls step as an assistant message with its calls, then its tool messages.

    Function calls carry their submitted output; calls the server executed (built-in tools)
    take theirs from ``server_outputs`` (the step's text for the model, by call id) and, when
    their body does not show it, what the model sent from ``call_arguments``.
    """
    outputs = server_outputs or {}
    sent = call_arguments or {}
    chat: list[dict[str, Any]] = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [chat_tool_call(c, sent.get(c["id"])) for c in calls],
        }
    ]
    for call in calls:
        output = call["function"].get("output") if call["type"] == "function" else None
        chat.append(
            {
                "role": "tool",
                "tool_call_id": call["id"],
                "content": output or outputs.get(call["id"]) or "",
            }
        )
    return chat


def _step_round(step: Any) -> list[dict[str, Any]]:
    return tool_round(
        step.data["step_details"]["tool_calls"],
        step.data.get(SERVER_OUTPUTS),
        step.data.get(CALL_ARGUMENTS),
    )


def _append_tool_round(chat: list[dict[str, Any]], round_messages: list[dict[str, Any]]) -> None:
    """Append a tool round; text the model wrote in the same turn joins its tool-call message.

    A model turn with text and tool calls is stored as a message plus a tool-calls step; the
    model produced one assistant message, so that is what it sees again (one assistant turn,
    ``content`` and ``tool_calls`` together).
    """
    calls_message, *tool_messages = round_messages
    previous = chat[-1] if chat else None
    if (
        previous is not None
        and previous.get("role") == "assistant"
        and "tool_calls" not in previous
        and not calls_message.get("content")
    ):
        calls_message["content"] = previous["content"]
        chat[-1] = calls_message
    else:
        chat.append(calls_message)
    chat.extend(tool_messages)


def build_chat_messages(
    instructions: str | None,
    additional_instructions: str | None,
    message_rows: list[Any],
    tool_steps: list[Any],
) -> list[dict[str, Any]]:
    """Return the model's view of a thread.

    The system prompt comes first, then messages and tool round trips in order. Tool-call
    steps sit after the message that was latest when they were recorded; only completed steps
    are included (outputs all submitted, or executed by the server: a call without a result is
    not valid chat).
    Messages still being written (``in_progress``) are left out.
    """
    chat: list[dict[str, Any]] = []
    system = "\n\n".join(part for part in (instructions, additional_instructions) if part)
    if system:
        chat.append({"role": "system", "content": system})
    steps = [s for s in tool_steps if s.status == "completed"]
    step_index = 0
    for row in message_rows:
        while step_index < len(steps) and steps[step_index].after_message_seq < row.seq:
            _append_tool_round(chat, _step_round(steps[step_index]))
            step_index += 1
        if row.status != "in_progress":
            chat.append({"role": row.role, "content": _message_content(row)})
    for step in steps[step_index:]:
        _append_tool_round(chat, _step_round(step))
    return chat
