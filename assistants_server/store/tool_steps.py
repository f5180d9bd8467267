"""Steps of tools the server executes itself (``code_interpreter``, ``file_search``).

A server-side tool call is recorded as a ``tool_calls`` step in two transactions: it is
inserted ``in_progress`` with each call's input and empty outputs (:func:`start_server_step`),
and, once every call ran, its outputs, the files they produced and its completion are written
together (:func:`complete_server_step`): a step is never ``completed`` without its files, and
no file is stored for a step that did not complete. A step found ``in_progress`` when a run's
next attempt begins was cut short by a crash or a restart: :func:`fail_interrupted_steps`
marks it ``failed`` and the model's turn is asked again.

Besides its public body a server step keeps private entries (``_``-prefixed, never shown):
:data:`SERVER_OUTPUTS`, the text each call gave the model; :data:`CALL_ARGUMENTS`, what the
model sent for calls whose public body does not show it (a ``file_search`` query); and
:data:`PRODUCED`, the images, files and citable search results each call produced, which the
run's next message shows (``image_file`` content, ``file_path`` and ``file_citation``
annotations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import now
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.queries import get_row, update_by_id
from assistant_graph.assistants_server.store.run_progress import insert_step, update_run
from sqlalchemy import Connection, func, select

_STEPS, _MESSAGES = db.run_steps, db.messages

SERVER_OUTPUTS = "_tool_outputs"
"""Private step entry: call id → the text the model gets as that call's result."""
PRODUCED = "_produced"
"""Private step entry: call id → ``{"images": [file_id, ...], "files": [{"path", "file_id"}],
"citations": {marker number: file_id}}`` (citations only for ``file_search`` calls)."""
CALL_ARGUMENTS = "_call_arguments"
"""Private step entry: call id → the arguments the model sent (built-in calls that keep them)."""
INTERRUPTED_MESSAGE = (
    "The server stopped while this tool call was executing; the run went on with a new "
    "attempt at the model's turn."
)

Saver = Callable[[Connection, str], "SavedCall"]
"""Writes one executed call's files (``owner`` given) and returns its final form."""


class SavedCall:
    """One executed server-side call, as its step and the model keep it."""

    def __init__(
        self,
        call: dict[str, Any],
        model_output: str,
        images: list[str] | None = None,
        files: list[dict[str, str]] | None = None,
        *,
        arguments: str | None = None,
        citations: dict[str, str] | None = None,
    ) -> None:
        self.call = call
        """The call's public body, outputs included."""
        self.model_output = model_output
        """The text the model gets as the call's result."""
        self.images = images or []
        self.files = files or []
        self.arguments = arguments
        """What the model sent, when the public body does not show it."""
        self.citations = citations or {}
        """Marker number → file id of the results the model may cite."""


def start_server_step(
    conn: Connection, run: dict[str, Any], calls: list[dict[str, Any]], usage: dict[str, int]
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Insert the in-progress step of server-side ``calls`` (outputs empty).

    Returns the step as created (no calls yet, for ``thread.run.step.created``) and with its
    calls; None (nothing written) when the run is no longer ``in_progress``.
    """
    current = get_row(conn, db.runs, run["id"])
    if current.status != "in_progress":
        return None
    step = insert_step(
        conn, run, "tool_calls", {"type": "tool_calls", "tool_calls": calls}, usage=usage
    )
    created = {**step, "step_details": {"type": "tool_calls", "tool_calls": []}}
    return created, step


def complete_server_step(
    conn: Connection,
    run_id: str,
    step_id: str,
    savers: list[Saver],
    run_usage: dict[str, int],
) -> tuple[dict[str, Any], list[SavedCall]] | None:
    """Store each call's files and outputs and complete the step, if the run is still ours.

    Returns the completed step and the saved calls; None (nothing written) when the run left
    ``in_progress`` meanwhile (cancelled, failed, taken over).
    """
    run = get_row(conn, db.runs, run_id)
    if run.status != "in_progress":
        return None
    owner = get_row(conn, db.threads, run.thread_id).api_key_hash
    saved = [save(conn, owner) for save in savers]
    row = get_row(conn, _STEPS, step_id)
    data = {
        **row.data,
        "step_details": {"type": "tool_calls", "tool_calls": [s.call for s in saved]},
        "completed_at": now(),
        SERVER_OUTPUTS: {s.call["id"]: s.model_output for s in saved},
        PRODUCED: {
            s.call["id"]: {"images": s.images, "files": s.files, "citations": s.citations}
            for s in saved
        },
        CALL_ARGUMENTS: {s.call["id"]: s.arguments for s in saved if s.arguments is not None},
    }
    update_by_id(conn, _STEPS, step_id, {"status": "completed", "data": data})
    update_run(conn, run_id, usage=run_usage)
    return {**rows.step(row), "status": "completed", **rows.public(data)}, saved


def fail_interrupted_steps(conn: Connection, run_id: str) -> None:
    """Mark the run's in-progress server-side steps ``failed`` (their execution was cut)."""
    open_steps = conn.execute(
        select(_STEPS).where(
            _STEPS.c.run_id == run_id,
            _STEPS.c.status == "in_progress",
            _STEPS.c.type == "tool_calls",
        )
    ).all()
    stamp = now()
    for step in open_steps:
        calls = step.data["step_details"]["tool_calls"]
        if any(call["type"] == "function" for call in calls):
            continue  # waits for the client's outputs (its run is requires_action)
        data = {
            **step.data,
            "failed_at": stamp,
            "last_error": {"code": "server_error", "message": INTERRUPTED_MESSAGE},
        }
        update_by_id(conn, _STEPS, step.id, {"status": "failed", "data": data})


def _produced_between(
    conn: Connection, run_id: str, low: int, high: int | None
) -> tuple[list[str], list[dict[str, str]]]:
    """Return the images and files of the run's steps placed after message ``low``.

    Only steps placed before message ``high`` (when given); image file ids, and
    ``{"path", "file_id"}`` of files.
    """
    query = select(_STEPS.c.data).where(
        _STEPS.c.run_id == run_id,
        _STEPS.c.type == "tool_calls",
        _STEPS.c.status == "completed",
        _STEPS.c.after_message_seq >= low,
    )
    if high is not None:
        query = query.where(_STEPS.c.after_message_seq < high)
    images: list[str] = []
    files: list[dict[str, str]] = []
    for step in conn.execute(query.order_by(_STEPS.c.seq)):
        for produced in (step.data.get(PRODUCED) or {}).values():
            images.extend(produced["images"])
            files.extend(produced["files"])
    return images, files


def run_citations(conn: Connection, run_id: str) -> dict[str, str]:
    """Return the citable results of the run's completed steps: marker number → file id."""
    citations: dict[str, str] = {}
    query = select(_STEPS.c.data).where(
        _STEPS.c.run_id == run_id,
        _STEPS.c.type == "tool_calls",
        _STEPS.c.status == "completed",
    )
    for step in conn.execute(query.order_by(_STEPS.c.seq)):
        for produced in (step.data.get(PRODUCED) or {}).values():
            citations.update(produced.get("citations") or {})
    return citations


def _latest_message_seq(conn: Connection, thread_id: str, before: int | None = None) -> int:
    query = select(func.max(_MESSAGES.c.seq)).where(_MESSAGES.c.thread_id == thread_id)
    if before is not None:
        query = query.where(_MESSAGES.c.seq < before)
    return conn.execute(query).scalar() or 0


def produced_since_previous_message(
    conn: Connection, run_id: str, thread_id: str, message_id: str
) -> tuple[list[str], list[dict[str, str]]]:
    """Return what the run's server-side calls produced since the message before ``message_id``.

    That message shows them.
    """
    seq = get_row(conn, _MESSAGES, message_id).seq
    return _produced_between(conn, run_id, _latest_message_seq(conn, thread_id, seq), seq)


def produced_since_latest_message(
    conn: Connection, run_id: str, thread_id: str
) -> tuple[list[str], list[dict[str, str]]]:
    """Return what the run's server-side calls produced since the thread's latest message."""
    return _produced_between(conn, run_id, _latest_message_seq(conn, thread_id), None)


def run_tool_resources(
    conn: Connection, run_id: str, tool: str
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Return a run's row, its thread's row and the ``tool_resources[tool]`` that apply to it.

    In order: the assistant's, the thread's, the run's own (create-thread-and-run).
    """
    run = get_row(conn, db.runs, run_id)
    thread = get_row(conn, db.threads, run.thread_id)
    assistant = conn.execute(
        select(db.assistants.c.data).where(db.assistants.c.id == run.assistant_id)
    ).first()
    resources = [
        assistant.data.get("tool_resources") if assistant is not None else None,
        thread.data.get("tool_resources"),
        run.data.get("_tool_resources"),
    ]
    return run, thread, [(found or {}).get(tool) or {} for found in resources]


def workspace_file_ids(conn: Connection, run_id: str, tool: str) -> tuple[str, list[str]]:
    """Return the thread owner and the file ids a run's ``tool`` may use, each once, in order.

    From the assistant's ``tool_resources``, the thread's, the run's own (create-thread-and-
    run), and the thread's message attachments that name ``tool``.
    """
    run, thread, resources = run_tool_resources(conn, run_id, tool)
    ids = [file_id for found in resources for file_id in found.get("file_ids") or []]
    attached = conn.execute(
        select(_MESSAGES.c.data)
        .where(_MESSAGES.c.thread_id == run.thread_id)
        .order_by(_MESSAGES.c.seq)
    )
    for message in attached:
        for attachment in message.data.get("attachments") or []:
            if any(t.get("type") == tool for t in attachment.get("tools") or []):
                ids.append(attachment["file_id"])
    return thread.api_key_hash, list(dict.fromkeys(ids))
