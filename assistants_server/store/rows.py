"""Row ↔ API object: one builder per kind, and the page of a list endpoint.

Each object keeps its filtered columns as real columns and the rest of its body in the JSON
``data`` column; a builder joins them into the API's JSON dict. Keys of ``data`` starting
with ``_`` are the server's own (e.g. a run's additional instructions) and never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")
EXECUTABLE_RUN_STATUSES = ("queued", "in_progress", "cancelling")
TERMINAL_RUN_STATUSES = ("completed", "failed", "cancelled", "expired", "incomplete")


def public(data: dict[str, Any]) -> dict[str, Any]:
    """Body fields without the server's private ones (keys starting with ``_``)."""
    return {key: value for key, value in data.items() if not key.startswith("_")}


def assistant(row: Any) -> dict[str, Any]:
    """Return an ``assistant`` object."""
    return {"id": row.id, "object": "assistant", "created_at": row.created_at, **public(row.data)}


def thread(row: Any) -> dict[str, Any]:
    """Return a ``thread`` object."""
    return {"id": row.id, "object": "thread", "created_at": row.created_at, **row.data}


def message(row: Any) -> dict[str, Any]:
    """Return a ``thread.message`` object."""
    return {
        "id": row.id,
        "object": "thread.message",
        "created_at": row.created_at,
        "thread_id": row.thread_id,
        "run_id": row.run_id,
        "role": row.role,
        "status": row.status,
        **row.data,
    }


def run(row: Any, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return a ``thread.run`` object; with ``changes`` (column values), as after that UPDATE."""
    values = changes or {}
    return {
        "id": row.id,
        "object": "thread.run",
        "created_at": row.created_at,
        "thread_id": row.thread_id,
        "assistant_id": row.assistant_id,
        "status": values.get("status", row.status),
        "expires_at": values.get("expires_at", row.expires_at),
        **public(values.get("data", row.data)),
    }


def step(row: Any) -> dict[str, Any]:
    """Return a ``thread.run.step`` object."""
    return {
        "id": row.id,
        "object": "thread.run.step",
        "created_at": row.created_at,
        "run_id": row.run_id,
        "thread_id": row.thread_id,
        "type": row.type,
        "status": row.status,
        **public(row.data),
    }


def file(row: Any) -> dict[str, Any]:
    """Return a ``file`` object (``expires_at`` only for a file that expires)."""
    body = {
        "id": row.id,
        "object": "file",
        "bytes": row.bytes,
        "created_at": row.created_at,
        "filename": row.filename,
        "purpose": row.purpose,
        "status": "processed",
    }
    if row.expires_at is not None:
        body["expires_at"] = row.expires_at
    return body


BUILDERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "assistants": assistant,
    "threads": thread,
    "messages": message,
    "runs": run,
    "run_steps": step,
    "files": file,
    "vector_stores": lambda row: {"id": row.id},
    "vector_store_files": lambda row: {"id": row.id},
}
"""The builder of each table's objects (vector store objects are completed by
``retrieval.stores``, which adds what it counts across tables)."""

KINDS = {
    "assistants": ("assistant", "assistant_id"),
    "threads": ("thread", "thread_id"),
    "messages": ("message", "message_id"),
    "runs": ("run", "run_id"),
    "run_steps": ("run step", "step_id"),
    "files": ("file", "file_id"),
    "vector_stores": ("vector store", "vector_store_id"),
    "vector_store_files": ("vector store file", "file_id"),
    "vector_store_file_batches": ("vector store file batch", "batch_id"),
}
"""Each table's object kind and id parameter, as error messages name them."""


class Page:
    """One page of a list endpoint."""

    def __init__(self, data: list[dict[str, Any]], has_more: bool) -> None:
        self.data = data
        self.has_more = has_more

    def body(self) -> dict[str, Any]:
        """Return the list response body."""
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.data[0]["id"] if self.data else None,
            "last_id": self.data[-1]["id"] if self.data else None,
            "has_more": self.has_more,
        }
