"""Message writing: a run's assistant message, created on its first text and streamed into."""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server.events import RunEventBus
from assistant_graph.assistants_server.ids import now
from assistant_graph.assistants_server.store import Store, run_progress


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
        content = [{"type": "text", "text": {"value": text, "annotations": []}}]
        if incomplete_reason:
            status = "incomplete"
            changes: dict[str, Any] = {
                "content": content,
                "incomplete_at": stamp,
                "incomplete_details": {"reason": "max_tokens"},
            }
        else:
            status = "completed"
            changes = {"content": content, "completed_at": stamp}
        message, step, run = await self.store.write(
            run_progress.finish_assistant_message,
            self.message["id"],
            self.step["id"],
            status,
            changes,
            {"completed_at": stamp, "usage": usage},
            (run_id, complete_run) if complete_run is not None else None,
        )
        self.bus.publish(run_id, f"thread.message.{status}", message)
        self.bus.publish(run_id, "thread.run.step.completed", step)
        return run
