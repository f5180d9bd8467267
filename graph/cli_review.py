"""The command line's tool review: show the paused tool calls, ask approve / edit / reject.

Used when ``ASSISTANT_INTERRUPT_BEFORE_TOOLS`` is on and the graph pauses in its human review
node (``graph.human_review``). ``ask_review`` turns a person's answers at the terminal into the
resume value that node accepts (``{"action": "approve"}``, ``{"action": "reject", "reason":
...}`` or ``{"action": "edit", "args": {call_id: {...}}}``); an answer it cannot use is asked
again, so nothing invalid reaches the graph.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TextIO

REVIEW_HEADER = "The assistant wants to run {count} tool call(s):"
REVIEW_CHOICES = "[a]pprove, [e]dit or [r]eject? "
REVIEW_UNKNOWN_CHOICE = "Answer a (approve), e (edit) or r (reject)."
REJECT_REASON = "Reason (optional): "
EDIT_PROMPT = "New arguments for {name} as a JSON object (Enter keeps {args}): "
EDIT_NOT_AN_OBJECT = 'Not a JSON object ({problem}); write e.g. {{"expression": "6 * 7"}}.'
REVIEW_ERROR = "The last answer was not accepted: {error}"

Ask = Callable[[str], str]
"""Reads one line after showing a prompt (``input``)."""


def format_call(name: str, args: dict[str, Any]) -> str:
    """``name(key=value, ...)``, as the command line prints tool calls."""
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def ask_review(payload: dict[str, Any], out: TextIO, ask: Ask = input) -> dict[str, Any]:
    """Show the pending calls of a review pause and return the person's decision."""
    calls = payload["tool_calls"]
    if payload.get("error"):
        print(REVIEW_ERROR.format(error=payload["error"]), file=out)
    print(REVIEW_HEADER.format(count=len(calls)), file=out)
    for number, call in enumerate(calls, 1):
        print(f"  {number}. {format_call(call['name'], call['args'])}", file=out)
    while True:
        choice = ask(REVIEW_CHOICES).strip().lower()
        if choice in ("a", "approve"):
            return {"action": "approve"}
        if choice in ("r", "reject"):
            return {"action": "reject", "reason": ask(REJECT_REASON).strip()}
        if choice in ("e", "edit"):
            return {"action": "edit", "args": _edited_args(calls, out, ask)}
        print(REVIEW_UNKNOWN_CHOICE, file=out)


def _edited_args(calls: list[dict[str, Any]], out: TextIO, ask: Ask) -> dict[str, Any]:
    edited: dict[str, Any] = {}
    for call in calls:
        current = json.dumps(call["args"])
        while True:
            line = ask(EDIT_PROMPT.format(name=call["name"], args=current)).strip()
            if not line:
                edited[call["id"]] = call["args"]
                break
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                print(EDIT_NOT_AN_OBJECT.format(problem=exc.msg), file=out)
                continue
            if not isinstance(value, dict):
                print(EDIT_NOT_AN_OBJECT.format(problem=type(value).__name__), file=out)
                continue
            edited[call["id"]] = value
            break
    return edited
