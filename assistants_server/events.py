"""In-process publish/subscribe of a run's stream events, and their server-sent-event framing.

The worker publishes every state change of a run (``thread.run.*``, ``thread.run.step.*``,
``thread.message.*``); a streaming request subscribes to its run *before* the worker is woken,
so it never misses an event. Frames always carry an ``event:`` line (the SDK dispatches on it)
and a stream ends with ``event: done`` / ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from assistant_graph.assistants_server.json_codec import dumps as encode_json

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

DONE_FRAME = b"event: done\ndata: [DONE]\n\n"

STATE_CHECK_SECONDS = 1.0
"""How often an idle stream re-reads its run (covers runs another process executes)."""


@dataclass(frozen=True)
class StreamEvent:
    """One event: its name and JSON payload."""

    event: str
    data: dict[str, Any]

    def frame(self) -> bytes:
        """Return the server-sent-event frame."""
        return b"event: " + self.event.encode() + b"\ndata: " + encode_json(self.data) + b"\n\n"


class RunEventBus:
    """Fan-out of run events to the streaming requests subscribed to each run."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[StreamEvent]]] = {}

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
        """Deliver an event to the run's subscribers (no-op without any)."""
        for queue in self._subscribers.get(run_id, ()):
            queue.put_nowait(StreamEvent(event, data))


async def stream_run(
    bus: RunEventBus,
    run_id: str,
    queue: asyncio.Queue[StreamEvent],
    prelude: list[StreamEvent],
    current_run: Callable[[], Awaitable[dict[str, Any]]],
    disconnected: Callable[[], bool] = lambda: False,
) -> AsyncIterator[bytes]:
    """Chunks for one streaming request: ``prelude``, then live events until the run stops.

    Everything already at hand goes out as one chunk (one write, one client read): the
    prelude with the events published meanwhile, then each batch of events. ``current_run``
    re-reads the run; it is consulted when no event arrived for a while, so a stream also
    ends when another process moved the run to a final state. An idle stream also ends when
    ``disconnected()`` says the client went away.
    """
    try:
        events: list[StreamEvent] = list(prelude)
        while True:
            if not events and queue.empty():
                try:
                    # asyncio.timeout: no extra task per wait (unlike asyncio.wait_for).
                    async with asyncio.timeout(STATE_CHECK_SECONDS):
                        events.append(await queue.get())
                except TimeoutError:
                    if disconnected():
                        return
                    run = await current_run()
                    name = STATUS_EVENTS[run["status"]]
                    if name in RUN_STREAM_END_EVENTS:
                        yield StreamEvent(name, run).frame() + DONE_FRAME
                        return
                    continue
            while not queue.empty():
                events.append(queue.get_nowait())
            frames: list[bytes] = []
            for event in events:
                frames.append(event.frame())
                if event.event in RUN_STREAM_END_EVENTS:
                    yield b"".join(frames) + DONE_FRAME
                    return
            events = []
            yield b"".join(frames)
    finally:
        bus.unsubscribe(run_id, queue)
