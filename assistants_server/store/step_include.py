"""``include[]`` on runs and run steps: a ``file_search`` step's result content, on request.

Stored ``file_search`` calls keep each result's ``content``; a step is shown with it only to a
request whose ``include`` names :data:`RESULT_CONTENT` (as upstream). Run create and
submit-tool-outputs store their ``include`` on the run (private ``_include``), which decides
what their streamed step events show; step list and retrieve take their own.
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store.queries import get_row, update_by_id
from sqlalchemy import Connection

RESULT_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"
"""The ``include`` value that adds ``file_search`` results' content."""
INCLUDE_KEY = "_include"
BAD_INCLUDE = (
    "Unknown include value {value!r}: the only supported value is "
    f"'{RESULT_CONTENT}'. Remove it or use that value."
)


def check_include(include: list[str] | None) -> list[str]:
    """Return ``include`` (empty when absent); raise ValueError naming an unknown value."""
    for value in include or []:
        if value != RESULT_CONTENT:
            raise ValueError(BAD_INCLUDE.format(value=value))
    return list(include or [])


def _without_content(call: dict[str, Any]) -> dict[str, Any]:
    if call.get("type") != "file_search" or "results" not in (call.get("file_search") or {}):
        return call
    search = call["file_search"]
    results = [{k: v for k, v in r.items() if k != "content"} for r in search["results"]]
    return {**call, "file_search": {**search, "results": results}}


def shown_calls(calls: list[dict[str, Any]], include: list[str] | None) -> list[dict[str, Any]]:
    """Return tool calls as a request with ``include`` sees them."""
    if include and RESULT_CONTENT in include:
        return calls
    return [_without_content(call) for call in calls]


def shown_step(step: dict[str, Any], include: list[str] | None) -> dict[str, Any]:
    """Return a step (or step delta's ``step_details`` holder) as ``include`` shows it."""
    details = step.get("step_details")
    if not isinstance(details, dict) or details.get("type") != "tool_calls":
        return step
    calls = shown_calls(details.get("tool_calls") or [], include)
    return {**step, "step_details": {**details, "tool_calls": calls}}


def run_include(conn: Connection, run_id: str) -> list[str]:
    """Return the ``include`` stored on the run (by its create or latest submit request)."""
    return list(get_row(conn, db.runs, run_id).data.get(INCLUDE_KEY) or [])


def set_run_include(conn: Connection, run_id: str, include: list[str]) -> None:
    """Store ``include`` on the run (what its next streamed steps show)."""
    row = get_row(conn, db.runs, run_id)
    update_by_id(conn, db.runs, run_id, {"data": {**row.data, INCLUDE_KEY: include}})
