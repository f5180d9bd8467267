"""Decide what the assistant node must do from the state alone — before any side effect.

Everything that can be wrong with the input is found here and raised as
:class:`~graph.errors.InvalidInputError`, so a bad input never reaches the Assistants endpoint
and LangGraph commits nothing for the failed step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant_graph.graph.errors import (
    EMPTY_CONTENT,
    MISSING_CONTENT,
    MISSING_TOOL_OUTPUTS,
    NO_MESSAGES,
    NO_PENDING_RUN,
    NON_STRING_CONTENT,
    UNEXPECTED_LAST_MESSAGE,
    InvalidInputError,
)
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage


@dataclass(frozen=True)
class NewTurn:
    """Send a user message: on a new Assistants thread, or on the existing one."""

    content: str
    """The user's text."""
    stale_run_id: str
    """A run still awaiting tool outputs from an abandoned turn (cancel it first), or ''."""


@dataclass(frozen=True)
class ToolCallResult:
    """One tool call of the pending run and what the tool returned."""

    call_id: str
    name: str
    args: dict[str, Any]
    output: str
    is_error: bool


@dataclass(frozen=True)
class SubmitToolOutputs:
    """Hand the tool results of the last AI message to the run awaiting them."""

    run_id: str
    results: tuple[ToolCallResult, ...]

    def tool_outputs(self, only: set[str] | None = None) -> list[dict[str, str]]:
        """Build the ``tool_outputs`` body, restricted to the call ids in ``only`` when given."""
        return [
            {"tool_call_id": r.call_id, "output": r.output}
            for r in self.results
            if only is None or r.call_id in only
        ]


Step = NewTurn | SubmitToolOutputs


def plan_step(messages: Sequence[AnyMessage], pending_run_id: str) -> Step:
    """Decide what the node must do next, or raise :class:`InvalidInputError`."""
    if not messages:
        raise InvalidInputError(NO_MESSAGES)
    last = messages[-1]
    if isinstance(last, HumanMessage):
        return NewTurn(content=user_text(last), stale_run_id=pending_run_id)
    if isinstance(last, ToolMessage):
        return _plan_submit(messages, pending_run_id)
    raise InvalidInputError(UNEXPECTED_LAST_MESSAGE.format(kind=type(last).__name__))


def user_text(message: HumanMessage) -> str:
    """Return the text of a user message (a string, or a list of text blocks)."""
    content = message.content
    if content is None:
        raise InvalidInputError(MISSING_CONTENT)
    if isinstance(content, list):
        parts: list[str] = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            else:
                kind = block.get("type") if isinstance(block, dict) else type(block).__name__
                raise InvalidInputError(NON_STRING_CONTENT.format(kind=f"a {kind!s} block"))
        text = "\n".join(parts)
    elif isinstance(content, str):
        text = content
    else:
        raise InvalidInputError(NON_STRING_CONTENT.format(kind=type(content).__name__))
    if not text.strip():
        raise InvalidInputError(EMPTY_CONTENT)
    return text


def _plan_submit(messages: Sequence[AnyMessage], pending_run_id: str) -> SubmitToolOutputs:
    if not pending_run_id:
        raise InvalidInputError(NO_PENDING_RUN)
    outputs: dict[str, ToolMessage] = {}
    index = len(messages) - 1
    while index >= 0 and isinstance(messages[index], ToolMessage):
        tool_message = messages[index]
        assert isinstance(tool_message, ToolMessage)
        outputs.setdefault(tool_message.tool_call_id, tool_message)
        index -= 1
    request = messages[index] if index >= 0 else None
    if not isinstance(request, AIMessage) or not request.tool_calls:
        raise InvalidInputError(
            UNEXPECTED_LAST_MESSAGE.format(kind="ToolMessage without tool calls")
        )
    missing = [call["id"] for call in request.tool_calls if call["id"] not in outputs]
    if missing:
        raise InvalidInputError(
            MISSING_TOOL_OUTPUTS.format(call_ids=missing, run_id=pending_run_id)
        )
    results = tuple(
        ToolCallResult(
            call_id=str(call["id"]),
            name=call["name"],
            args=dict(call["args"]),
            output=tool_output_text(outputs[str(call["id"])]),
            is_error=outputs[str(call["id"])].status == "error",
        )
        for call in request.tool_calls
    )
    return SubmitToolOutputs(run_id=pending_run_id, results=results)


def tool_output_text(message: ToolMessage) -> str:
    """Return a ToolMessage's content as the string the Assistants API expects."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        else:
            parts.append(str(block))
    return "\n".join(parts)
