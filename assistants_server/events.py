"""In-process publish/subscribe of a run's stream events, and the stream a request reads.

The worker publishes every state change of a run (``thread.run.*``, ``thread.run.step.*``,
``thread.message.*``); a streaming request subscribes to its run *before* the worker is woken,
so it never misses an event. Frames always carry an ``event:`` line (the SDK dispatches on it)
and a stream ends with ``event: done`` / ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sse_starlette import ServerSentEvent

RUN_STREAM_END_EVENTS = frozenset(
    {
        "thread.run.completed",
        "thread.run.failed",
        "thread.run.cancelled",
        "thread.run.expired",
        "thread.run.incomplete",
        "thread.run.requires_action",
    }
)
"""After one of these the worker emits nothing more until the client acts: the stream ends."""

STATUS_EVENTS = {
    "completed": "thread.run.completed",
    "failed": "thread.run.failed",
    "cancelled": "thread.run.cancelled",
    "expired": "thread.run.expired",
    "incomplete": "thread.run.incomplete",
    "requires_action": "thread.run.requires_action",
    "cancelling": "thread.run.cancelling",
    "in_progress": "thread.run.in_progress",
    "queued": "thread.run.queued",
}

SSE_SEPARATOR = "\n"
"""Line separator of the frames (``event: ...\\ndata: ...\\n\\n``)."""

DONE_EVENT = ServerSentEvent(data="[DONE]", event="done", sep=SSE_SEPARATOR)
"""The frame that ends every run stream."""

STATE_CHECK_SECONDS = 1.0
"""How often an idle stream re-reads its run (covers runs another process executes)."""


@dataclass(frozen=True)
class StreamEvent:
    """One event: its name and JSON payload."""

    event: str
    data: dict[str, Any]

    def sse(self) -> ServerSentEvent:
        """Return the event as one server-sent event (compact JSON data)."""
        return ServerSentEvent(
            data=json.dumps(self.data, separators=(",", ":")), event=self.event, sep=SSE_SEPARATOR
        )


class RunEventBus:
    """Fan-out of run events to the streaming requests subscribed to each run."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[StreamEvent]]] = {}
        self.forward: Callable[[str, str, dict[str, Any]], None] | None = None
        """Also sends each published event to other processes (``event_relay``), if set."""

    def subscribe(self, run_id: str) -> asyncio.Queue[StreamEvent]:
        """Return a queue receiving the run's events from now on."""
        queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self._subscribers.setdefault(run_id, set()).add(queue)
        return queue

    def unsubscribe(self, run_id: str, queue: asyncio.Queue[StreamEvent]) -> None:
        """Stop delivering to ``queue``."""
        queues = self._subscribers.get(run_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[run_id]

    def publish(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        """Deliver an event of this process to the run's subscribers (and other processes)."""
        if self.forward is not None:
            self.forward(run_id, event, data)
        self.deliver(run_id, event, data)

    def deliver(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        """Hand an event to this process's subscribers of the run (no-op without any)."""
        for queue in self._subscribers.get(run_id, ()):
            queue.put_nowait(StreamEvent(event, data))


def _drain(queue: asyncio.Queue[StreamEvent]) -> list[StreamEvent]:
    events: list[StreamEvent] = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def stream_run(
    bus: RunEventBus,
    run_id: str,
    queue: asyncio.Queue[StreamEvent],
    prelude: list[StreamEvent],
    current_run: Callable[[], Awaitable[dict[str, Any]]],
    executing: Callable[[], bool],
) -> AsyncIterator[bytes]:
    """Chunks of one streaming request: ``prelude``, then live events until the run stops.

    The events at hand go out as one chunk of server-sent-event frames (one write, one read
    for the client: measured 1-2 ms less CPU per streamed turn than a write per event).

    ``current_run`` re-reads the run when no event arrived for ``STATE_CHECK_SECONDS``, so a
    stream also ends when another process moved the run to a final state. That check never
    overtakes an event: the events published before (or while) the run was read go out
    first, and while this process still executes the run (``executing()``), its own final
    event ends the stream. The stream ends with the first final event and ``done``.
    """
    try:
        pending: deque[StreamEvent] = deque(prelude)
        while True:
            pending.extend(_drain(queue))
            frames: list[bytes] = []
            while pending:
                event = pending.popleft()
                frames.append(event.sse().encode())
                if event.event in RUN_STREAM_END_EVENTS:
                    yield b"".join([*frames, DONE_EVENT.encode()])
                    return
            if frames:
                yield b"".join(frames)
            try:
                # asyncio.timeout: no extra task per wait (unlike asyncio.wait_for).
                async with asyncio.timeout(STATE_CHECK_SECONDS):
                    pending.append(await queue.get())
            except TimeoutError:
                run = await current_run()
                pending.extend(_drain(queue))
                name = STATUS_EVENTS[run["status"]]
                if name in RUN_STREAM_END_EVENTS and not executing():
                    pending.append(StreamEvent(name, run))
    finally:
        bus.unsubscribe(run_id, queue)
