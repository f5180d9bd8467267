"""Steps the Assistants server ran itself (``code_interpreter``, ``file_search``) as messages.

A run may execute built-in tools between its model turns: their ``tool_calls`` steps never
reach the client as actions. So that a LangGraph user still sees them, each such step becomes
an ``AIMessage`` placed before the turn's answer (or tool calls), without ``tool_calls`` (no
local tool runs it):

- ``content``: for each interpreter call, its code in a fenced ``python`` block, then its
  output (logs; ``[image file <file_id>]`` for a figure); for each ``file_search`` call, the
  files found with their scores;
- ``additional_kwargs["assistant_tool_calls"]``: the step's calls as the API shows them
  (``{"id", "type": "code_interpreter", "code_interpreter": {"input", "outputs"}}``,
  ``{"id", "type": "file_search", "file_search": {"ranking_options", "results"}}``);
- ``response_metadata``: ``assistant_run_id``, ``assistant_thread_id``, ``assistant_step_id``;
- ``id``: the step's id, so a turn read again replaces instead of duplicating.

Image outputs are files: download them with ``client.files.content(file_id)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import AIMessage

SERVER_TOOL_CALLS_KEY = "assistant_tool_calls"
"""``additional_kwargs`` key of a server-side step message: the step's calls."""
ANNOTATIONS_KEY = "annotations"
"""``additional_kwargs`` key of an answer: its text's annotations (citations, file paths)."""
SEARCH_LINE = "file_search found: {found}"
NOTHING_FOUND = "file_search found nothing"


SERVER_STEP_EVENT = "assistant_server_step"
"""Name of the LangChain custom event sent with each completed server-side step (its run-step
object as a dict) while the run streams: ``on_custom_event`` handlers and ``astream_events``
(``on_custom_event``) see the code the server ran before the answer's text."""


def _plain(value: Any) -> Any:
    return value.model_dump(exclude_none=True) if hasattr(value, "model_dump") else value


def server_step(step: Any) -> dict[str, Any] | None:
    """Return a completed step with server-side tool calls as a plain dict, else None."""
    step = _plain(step)
    details = step.get("step_details") or {}
    if details.get("type") != "tool_calls" or step.get("status") != "completed":
        return None
    calls = details.get("tool_calls") or []
    if not calls or any(call.get("type") == "function" for call in calls):
        return None
    return step


def latest_server_steps(steps_newest_first: Iterable[Any]) -> list[dict[str, Any]]:
    """Server-side steps after the run's last submitted function calls, oldest first."""
    found: list[dict[str, Any]] = []
    for step in steps_newest_first:
        plain = _plain(step)
        calls = (plain.get("step_details") or {}).get("tool_calls") or []
        if plain.get("status") == "completed" and any(c.get("type") == "function" for c in calls):
            break
        kept = server_step(plain)
        if kept is not None:
            found.append(kept)
    return found[::-1]


def search_summary(call: dict[str, Any]) -> str:
    """One line naming the files a ``file_search`` call found, with their scores."""
    results = (call.get("file_search") or {}).get("results") or []
    if not results:
        return NOTHING_FOUND
    found = ", ".join(f"{r.get('file_name', r.get('file_id'))} ({r['score']:.3g})" for r in results)
    return SEARCH_LINE.format(found=found)


def named_citations(
    annotations: list[dict[str, Any]], steps: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return ``annotations`` with each ``file_citation`` given its file's name, when known."""
    names = {
        result["file_id"]: result.get("file_name")
        for step in steps
        for call in step["step_details"]["tool_calls"]
        for result in (call.get("file_search") or {}).get("results") or []
    }
    named = []
    for annotation in annotations:
        cited = annotation.get("file_citation")
        if cited and names.get(cited.get("file_id")):
            annotation = {
                **annotation,
                "file_citation": {**cited, "file_name": names[cited["file_id"]]},
            }
        named.append(annotation)
    return named


def _call_text(call: dict[str, Any]) -> str:
    if call.get("type") == "file_search":
        return search_summary(call)
    body = call.get(call.get("type", ""), {}) or {}
    parts = [f"```python\n{body.get('input', '')}\n```"]
    for output in body.get("outputs") or []:
        if output.get("type") == "logs":
            parts.append(output.get("logs", "").rstrip("\n"))
        elif output.get("type") == "image":
            parts.append(f"[image file {output['image']['file_id']}]")
    return "\n".join(part for part in parts if part)


def step_messages(steps: Iterable[dict[str, Any]]) -> list[AIMessage]:
    """One ``AIMessage`` per server-side step (see the module docstring)."""
    messages = []
    for step in steps:
        calls = step["step_details"]["tool_calls"]
        messages.append(
            AIMessage(
                id=step["id"],
                content="\n\n".join(_call_text(call) for call in calls),
                additional_kwargs={SERVER_TOOL_CALLS_KEY: calls},
                response_metadata={
                    "assistant_run_id": step.get("run_id"),
                    "assistant_thread_id": step.get("thread_id"),
                    "assistant_step_id": step["id"],
                },
            )
        )
    return messages


def produced_file_ids(steps: Iterable[dict[str, Any]], attachments: Iterable[Any]) -> list[str]:
    """Ids of the images the steps returned and of the files attached to the answer."""
    ids = [
        output["image"]["file_id"]
        for step in steps
        for call in step["step_details"]["tool_calls"]
        for output in (call.get(call.get("type", ""), {}) or {}).get("outputs") or []
        if output.get("type") == "image"
    ]
    ids += [_plain(a)["file_id"] for a in attachments]
    return list(dict.fromkeys(ids))
