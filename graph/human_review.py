"""The human review node: pause before tools run so a person can approve, edit or reject them.

Routed to only when ``Context.interrupt_before_tools`` is on (after a state edit: when it was
on for the last assistant step, see ``graph.router``; if the invocation that then runs this
node has it off, the node passes straight to ``tools``). It calls
``langgraph.types.interrupt`` with the pending tool calls; the graph stops (the checkpoint keeps
everything) until it is resumed with ``Command(resume=<answer>)`` — from code, or from
LangGraph Studio's interrupt panel. Accepted answers:

* ``{"action": "approve"}`` (or ``"approve"``): run every call as proposed;
* ``{"action": "reject", "reason": "..."}`` (or ``"reject"``): run none; optional
  ``"call_ids": [...]`` rejects only those calls and approves the rest;
* ``{"action": "edit", "args": {<call_id>: {<argument>: <value>, ...}}}``: run the named calls
  with the new arguments (the AI message in state shows them), the others as proposed.

A rejected call goes back to the assistant as a ``ToolMessage(status="error")`` saying a person
rejected it and why, so the run still completes. An answer that is not one of these is not an
error that loses the pause: the node asks again, with ``error`` in the interrupt's payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assistant_graph.graph.context import Context, context_of
from assistant_graph.graph.errors import INVALID_REVIEW, InvalidInputError
from assistant_graph.graph.state import State
from assistant_graph.graph.tool_node import unanswered_tool_calls
from langchain_core.messages import AIMessage, ToolCall, ToolMessage
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

REVIEW_QUESTION = "The assistant wants to run these tools. Approve, edit or reject them."
REJECTED_TOOL_CALL = "The tool call was rejected by a person and did not run. Reason: {reason}"
NO_REASON = "no reason given"
ACCEPTED_ANSWERS = {
    "approve": {"action": "approve"},
    "reject": {"action": "reject", "reason": "<why>", "call_ids": ["<optional: only these>"]},
    "edit": {"action": "edit", "args": {"<call_id>": {"<argument>": "<new value>"}}},
}


class InvalidReviewError(InvalidInputError):
    """A resume value the human review node cannot use (the node asks again)."""


@dataclass(frozen=True)
class Review:
    """What a person decided about the pending tool calls."""

    rejected: dict[str, str]
    """Call id → reason, for the calls that must not run."""
    edited: dict[str, dict[str, Any]]
    """Call id → replacement arguments."""


def review_payload(calls: Sequence[ToolCall], error: str = "") -> dict[str, Any]:
    """Build the interrupt's value: the question, the pending calls, the accepted answers."""
    payload: dict[str, Any] = {
        "question": REVIEW_QUESTION,
        "tool_calls": [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in calls],
        "accepted_answers": ACCEPTED_ANSWERS,
    }
    if error:
        payload["error"] = error
    return payload


def parse_review(value: Any, calls: Sequence[ToolCall]) -> Review:
    """Turn a resume value into a :class:`Review`, or raise :class:`InvalidReviewError`."""
    ids = [str(c["id"]) for c in calls]
    if isinstance(value, str):
        value = {"action": value.strip().lower()}
    if not isinstance(value, dict):
        raise _invalid(value, f"expected a dict, got {type(value).__name__}")
    action = value.get("action")
    if action == "approve":
        return Review(rejected={}, edited={})
    if action == "reject":
        reason = value.get("reason") or NO_REASON
        if not isinstance(reason, str):
            raise _invalid(value, "'reason' must be text")
        targets = value.get("call_ids", ids)
        if not isinstance(targets, list) or not targets:
            raise _invalid(value, "'call_ids' must be a non-empty list of call ids")
        _check_known(value, targets, ids)
        return Review(rejected={str(t): reason for t in targets}, edited={})
    if action == "edit":
        args = value.get("args")
        if not isinstance(args, dict) or not args:
            raise _invalid(value, "'args' must map call ids to their new arguments")
        _check_known(value, list(args), ids)
        for call_id, new_args in args.items():
            if not isinstance(new_args, dict):
                raise _invalid(value, f"the arguments for {call_id!r} must be a dict")
        return Review(rejected={}, edited={str(k): dict(v) for k, v in args.items()})
    raise _invalid(value, f"unknown action {action!r}; use approve, reject or edit")


def human_review(state: State, runtime: Runtime[Context]) -> Command[Literal["tools", "assistant"]]:
    """Pause for a person's review of the last AI message's tool calls, then apply it.

    Without ``interrupt_before_tools`` in this invocation's context it passes straight to
    ``tools`` (possible only after a state edit, see ``assistant_graph.graph.router``).
    """
    ai = state.messages[-1]
    calls = unanswered_tool_calls(state.messages)
    if not isinstance(ai, AIMessage) or not calls:
        return Command(goto="tools")
    if not context_of(runtime).interrupt_before_tools:
        return Command(goto="tools")
    error = ""
    while True:  # every invalid answer is kept by LangGraph and replayed on resume
        answer = interrupt(review_payload(calls, error))
        try:
            review = parse_review(answer, calls)
            break
        except InvalidReviewError as exc:
            error = str(exc)
    return apply_review(ai, calls, review)


def apply_review(
    ai: AIMessage, calls: Sequence[ToolCall], review: Review
) -> Command[Literal["tools", "assistant"]]:
    """State update and next node for a review: edited AI message, rejection ToolMessages."""
    messages: list[Any] = []
    if review.edited:
        new_calls = [
            {**call, "args": review.edited.get(str(call["id"]), call["args"])}
            for call in ai.tool_calls
        ]
        messages.append(ai.model_copy(update={"tool_calls": new_calls}))
    for call in calls:
        reason = review.rejected.get(str(call["id"]))
        if reason is not None:
            messages.append(
                ToolMessage(
                    REJECTED_TOOL_CALL.format(reason=reason),
                    tool_call_id=call["id"],
                    name=call["name"],
                    status="error",
                    id=f"{call['id']}-rejected",
                )
            )
    runs_some = any(str(call["id"]) not in review.rejected for call in calls)
    return Command(update={"messages": messages}, goto="tools" if runs_some else "assistant")


def _check_known(value: Any, given: list[Any], known: list[str]) -> None:
    unknown = [str(g) for g in given if str(g) not in known]
    if unknown:
        raise _invalid(value, f"unknown call id(s) {unknown}; pending calls are {known}")


def _invalid(value: Any, problem: str) -> InvalidReviewError:
    return InvalidReviewError(INVALID_REVIEW.format(value=value, problem=problem))
