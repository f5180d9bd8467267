"""Turn a stopped run and the messages of its latest step into the runnable's output.

I/O-free: the drivers in ``graph.runnable`` fetch the run and its messages; this module builds
the agent output LangChain expects (``OpenAIAssistantAction`` list or ``OpenAIAssistantFinish``)
or raises :class:`~graph.errors.RunEndedError` for a run that ended without an answer.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from json import JSONDecodeError
from typing import Any, NoReturn

from assistant_graph.graph.errors import INVALID_TOOL_ARGUMENTS, RunEndedError
from langchain_classic.agents.openai_assistant.base import (
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
)
from pydantic import Field

logger = logging.getLogger(__name__)

WAITING_STATUSES = frozenset({"queued", "in_progress", "cancelling"})
"""Statuses of a run that will change without the client doing anything."""
FAILED_STATUSES = frozenset({"failed", "cancelled", "expired", "incomplete"})
"""Terminal statuses that carry no answer."""
ANSWERING_STATUSES = frozenset({"completed", "requires_action"})
"""Statuses of a run whose latest step has a result (an answer, or tool calls)."""
RAW_ARGUMENTS_KEY = "_unparsed_arguments"
"""Key under which arguments that are not valid JSON are handed to the tool (whose validation
then reports them to the model as a tool error)."""


class AssistantStepAction(OpenAIAssistantAction):
    """A tool call of a run step, with what the model wrote in that same step.

    ``log`` holds the step's text (e.g. "Let me compute that."; empty when the model only called
    tools) and ``message_ids`` the Assistants messages that text is in, so the caller can keep
    the text and give it the id its streamed deltas carried.
    """

    message_ids: list[str] = Field(default_factory=list)
    server_steps: list[dict[str, Any]] = Field(default_factory=list)
    """Steps the server ran itself before these calls (``graph.server_steps``)."""


def tool_call_message_id(run_id: str, tool_call_ids: Iterable[str]) -> str:
    """Stable id of the AI message holding one ``requires_action`` round of a run."""
    digest = hashlib.sha256("\n".join(tool_call_ids).encode()).hexdigest()[:12]
    return f"{run_id}-calls-{digest}"


def describe_run_end(run: Any) -> str:
    """Why a run ended without an answer: its ``last_error`` or ``incomplete_details``."""
    last_error = getattr(run, "last_error", None)
    if last_error is not None:
        code = getattr(last_error, "code", "") or ""
        message = getattr(last_error, "message", "") or ""
        return f"{message} ({code})" if code and message else message or code
    incomplete = getattr(run, "incomplete_details", None)
    if incomplete is not None and getattr(incomplete, "reason", None):
        return f"incomplete: {incomplete.reason}"
    return ""


def raise_run_ended(run: Any) -> NoReturn:
    """Raise :class:`RunEndedError` for a run that stopped without an answer or tool calls."""
    detail = describe_run_end(run) if run.status in FAILED_STATUSES else "unexpected run status"
    raise RunEndedError(run.id, run.thread_id, run.status, detail)


def latest_step_messages(messages: list[Any], steps_newest_first: list[Any]) -> list[Any]:
    """Keep the messages created after the run's last submitted tool calls.

    A ``tool_calls`` step with function calls that is ``completed`` had its outputs submitted:
    the messages of earlier steps were already returned with those calls. Steps of built-in
    tools (run server-side, no submit) do not separate steps.
    """
    latest: set[str] = set()
    for step in steps_newest_first:
        details = step.step_details
        if details.type == "message_creation":
            latest.add(details.message_creation.message_id)
        elif details.type == "tool_calls" and step.status == "completed":
            if any(call.type == "function" for call in details.tool_calls):
                break
    return [m for m in messages if m.id in latest]


def has_answer(messages: list[Any]) -> bool:
    """Whether the messages hold an assistant message (a completed run's answer)."""
    return any(getattr(m, "role", "assistant") == "assistant" for m in messages)


def response_with_messages(
    run: Any, messages: list[Any], server_steps: list[dict[str, Any]] | None = None
) -> Any:
    """Return the finish of a completed run, or the actions of one in ``requires_action``.

    ``server_steps``: the step's server-side tool steps (``graph.server_steps``), carried in
    the finish's ``return_values["server_steps"]`` or the first action's ``server_steps``.
    """
    steps = list(server_steps or [])
    if run.status == "completed":
        return _finish(run, messages, steps)
    text, message_ids, _, _ = _assistant_text(messages)
    actions = [
        _action(run, call, text, message_ids)
        for call in run.required_action.submit_tool_outputs.tool_calls
    ]
    if actions:
        actions[0].server_steps = steps
    return actions


def _assistant_text(messages: list[Any]) -> tuple[str, list[str], list[Any], list[dict[str, Any]]]:
    """(text, message ids, attachments, annotations) of the assistant messages, in order.

    The annotations' ``start_index``/``end_index`` are moved to point into the joined text.
    """
    texts: list[str] = []
    attachments: list[Any] = []
    message_ids: list[str] = []
    annotations: list[dict[str, Any]] = []
    offset = 0
    for message in messages:
        if getattr(message, "role", "assistant") != "assistant":
            continue
        message_ids.append(message.id)
        attachments.extend(getattr(message, "attachments", None) or [])
        for block in message.content:
            if block.type == "text":
                piece = block.text.value
                for annotation in block.text.annotations or []:
                    plain = annotation.model_dump(exclude_none=True)
                    plain["start_index"] += offset
                    plain["end_index"] += offset
                    annotations.append(plain)
            elif block.type == "image_file":
                piece = f"[image file {block.image_file.file_id}]"
            elif block.type == "image_url":
                piece = f"[image {block.image_url.url}]"
            else:
                continue
            texts.append(piece)
            offset += len(piece) + 1  # the newline that joins the pieces
    return "\n".join(texts), message_ids, attachments, annotations


def _finish(
    run: Any, messages: list[Any], server_steps: list[dict[str, Any]]
) -> OpenAIAssistantFinish:
    """Build the answer of a completed run from the assistant messages of its last step."""
    output, message_ids, attachments, annotations = _assistant_text(messages)
    return OpenAIAssistantFinish(
        return_values={
            "output": output,
            "thread_id": run.thread_id,
            "run_id": run.id,
            "attachments": attachments,
            "annotations": annotations,
            "message_ids": message_ids,
            "server_steps": server_steps,
        },
        log="",
        run_id=run.id,
        thread_id=run.thread_id,
    )


def _action(run: Any, tool_call: Any, text: str, message_ids: list[str]) -> AssistantStepAction:
    function = tool_call.function
    try:
        args: Any = json.loads(function.arguments or "{}", strict=False)
    except JSONDecodeError:
        logger.warning(
            INVALID_TOOL_ARGUMENTS.format(
                tool=function.name, call_id=tool_call.id, arguments=function.arguments
            )
        )
        args = {RAW_ARGUMENTS_KEY: function.arguments}
    if not isinstance(args, dict):
        args = {RAW_ARGUMENTS_KEY: function.arguments}
    return AssistantStepAction(
        tool=function.name,
        tool_input=args,
        tool_call_id=tool_call.id,
        log=text,
        message_ids=list(message_ids),
        run_id=run.id,
        thread_id=run.thread_id,
    )
