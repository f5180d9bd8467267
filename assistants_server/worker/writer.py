"""Message writing: a run's assistant message, created on its first text and streamed into.

When the run's server-side tools produced images or files since the thread's previous
message, the message shows them as upstream did: an ``image_file`` block per image (after
the text), a ``file_path`` annotation on each ``sandbox:/mnt/data/<name>`` link to a produced
file, and every produced file among the message's ``attachments``. Each citation marker the
model wrote for a ``file_search`` result of the run (``【3†source】``, see
``backends.file_search_text``) gets a ``file_citation`` annotation naming the result's file;
the marker stays in the text, and the annotation's ``text`` is the marker, as upstream.
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server.backends.file_search_text import MARKER_PATTERN
from assistant_graph.assistants_server.events import RunEventBus
from assistant_graph.assistants_server.ids import now
from assistant_graph.assistants_server.store import Store, run_progress, tool_steps
from sqlalchemy import Connection

SANDBOX_LINK = "sandbox:{path}"


def citation_annotations(text: str, citations: dict[str, str]) -> list[dict[str, Any]]:
    """Return a ``file_citation`` annotation for each marker in ``text`` naming a known result."""
    annotations = []
    for found in MARKER_PATTERN.finditer(text):
        file_id = citations.get(found.group(1))
        if file_id is not None:
            annotations.append(
                {
                    "type": "file_citation",
                    "text": found.group(0),
                    "start_index": found.start(),
                    "end_index": found.end(),
                    "file_citation": {"file_id": file_id},
                }
            )
    return annotations


def message_content(
    text: str,
    images: list[str],
    files: list[dict[str, str]],
    citations: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Return the message's content: the text with its annotations, then the images.

    ``file_path`` annotations for produced files, ``file_citation`` ones for markers of
    ``citations`` (marker number → file id). The text stays the first block, where the streamed
    text deltas put it (index 0).
    """
    annotations: list[dict[str, Any]] = citation_annotations(text, citations or {})
    for produced in files:
        link = SANDBOX_LINK.format(path=produced["path"])
        start = text.find(link)
        while start != -1:
            end = start + len(link)
            if not text[end : end + 1].isalnum() and text[end : end + 1] not in ("_", ".", "-"):
                annotations.append(
                    {
                        "type": "file_path",
                        "text": link,
                        "start_index": start,
                        "end_index": end,
                        "file_path": {"file_id": produced["file_id"]},
                    }
                )
            start = text.find(link, end)
    annotations.sort(key=lambda a: a["start_index"])
    content: list[dict[str, Any]] = []
    if text or not images:
        content.append({"type": "text", "text": {"value": text, "annotations": annotations}})
    content += [{"type": "image_file", "image_file": {"file_id": file_id}} for file_id in images]
    return content


def _finish_with_outputs(
    conn: Connection,
    run: dict[str, Any],
    message_id: str,
    step_id: str,
    text: str,
    status: str,
    changes: dict[str, Any],
    step_changes: dict[str, Any],
    complete_run: tuple[str, dict[str, Any]] | None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """Finish the message with the images and files produced before it (one transaction)."""
    images, files = tool_steps.produced_since_previous_message(
        conn, run["id"], run["thread_id"], message_id
    )
    citations = tool_steps.run_citations(conn, run["id"])
    changes = {**changes, "content": message_content(text, images, files, citations)}
    if files:
        changes["attachments"] = [
            {"file_id": f["file_id"], "tools": [{"type": "code_interpreter"}]} for f in files
        ]
    return run_progress.finish_assistant_message(
        conn, message_id, step_id, status, changes, step_changes, complete_run
    )


class MessageWriter:
    """Creates the run's assistant message on its first text and streams deltas into it.

    The message and its ``message_creation`` step are stored when the first text arrives
    (:meth:`start`); each delta is only published; :meth:`finish` stores the final text.
    """

    def __init__(self, store: Store, bus: RunEventBus, run: dict[str, Any]) -> None:
        self.store = store
        self.bus = bus
        self.run = run
        self.message: dict[str, Any] | None = None
        self.step: dict[str, Any] | None = None

    @property
    def started(self) -> bool:
        """Whether the message exists."""
        return self.message is not None

    async def has_tool_outputs(self) -> bool:
        """Whether server-side tools produced images or files the run has not shown yet."""
        images, files = await self.store.read(
            tool_steps.produced_since_latest_message, self.run["id"], self.run["thread_id"]
        )
        return bool(images or files)

    async def start(self) -> None:
        """Store the in-progress message and its step; publish their created events."""
        run_id = self.run["id"]
        message, step = await self.store.write(run_progress.start_assistant_message, self.run)
        self.message, self.step = message, step
        self.bus.publish(run_id, "thread.run.step.created", step)
        self.bus.publish(run_id, "thread.run.step.in_progress", step)
        self.bus.publish(run_id, "thread.message.created", message)
        self.bus.publish(run_id, "thread.message.in_progress", message)

    async def on_text_delta(self, text: str) -> None:
        """Publish a piece of the answer (starting the message on the first one)."""
        if not text:
            return
        if self.message is None:
            await self.start()
        assert self.message is not None
        self.bus.publish(
            self.run["id"],
            "thread.message.delta",
            {
                "id": self.message["id"],
                "object": "thread.message.delta",
                "delta": {
                    "content": [
                        {"index": 0, "type": "text", "text": {"value": text, "annotations": []}}
                    ]
                },
            },
        )

    async def finish(
        self,
        text: str,
        incomplete_reason: str | None,
        usage: dict[str, int] | None,
        complete_run: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Store the final text; with ``complete_run`` (run changes) also complete the run.

        Returns the completed run (None without ``complete_run`` or when the run had already
        left ``in_progress``); publishing its event is the caller's job.
        """
        assert self.message is not None and self.step is not None
        run_id = self.run["id"]
        stamp = now()
        if incomplete_reason:
            status = "incomplete"
            changes: dict[str, Any] = {
                "incomplete_at": stamp,
                "incomplete_details": {"reason": "max_tokens"},
            }
        else:
            status = "completed"
            changes = {"completed_at": stamp}
        message, step, run = await self.store.write(
            _finish_with_outputs,
            self.run,
            self.message["id"],
            self.step["id"],
            text,
            status,
            changes,
            {"completed_at": stamp, "usage": usage},
            (run_id, complete_run) if complete_run is not None else None,
        )
        self.bus.publish(run_id, f"thread.message.{status}", message)
        self.bus.publish(run_id, "thread.run.step.completed", step)
        return run
