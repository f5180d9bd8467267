"""The HTTP response that streams a run's server-sent events, with as few writes as it can.

Every write wakes the client to read and parse, so the response writes only when it has
something new: the status line and headers go out with the first frames (not on their own),
and the frame that ends the stream (``event: done``) carries the end of the chunked body with
it (not one more empty write after it); and nothing is written before the run's worker had a
chance to start the model call. ``StreamingResponse`` does neither and also starts a
task per response to watch for the client going away; here the stream checks for that only
when it has been idle (:class:`DisconnectWatch`), which is when a gone client costs anything.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from assistant_graph.assistants_server.events import DONE_FRAME
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

EVENT_STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


class DisconnectWatch:
    """Tells whether the client went away; starts listening on its first question.

    A stream asks only after it waited a while for events, so a stream that flows never
    pays for a listening task.
    """

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> bool:
        """Whether the client has disconnected (False on the first call: listening starts)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._wait())
            return False
        return self._task.done()

    async def _wait(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass

    def close(self) -> None:
        """Stop listening."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


class EventStreamResponse(Response):
    """A response streaming the chunks ``open_stream(disconnected)`` yields.

    ``open_stream`` receives a ``disconnected()`` check for its idle moments. A chunk ending
    with the ``done`` frame is the last one.
    """

    media_type = "text/event-stream"

    def __init__(
        self,
        open_stream: Callable[[Callable[[], bool]], AsyncIterator[bytes]],
        headers: dict[str, str] | None = None,
    ) -> None:
        self.open_stream = open_stream
        self.status_code = 200
        self.background = None
        self.init_headers({**EVENT_STREAM_HEADERS, **(headers or {})})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream the chunks; the last one (with ``done``) also ends the body."""
        # The request that opened this stream has just queued the run: let the worker's task
        # (already scheduled) start the model call before any byte is written, so writing
        # the first events and the client reading them overlap with the model's time.
        await asyncio.sleep(0)
        watch = DisconnectWatch(receive)
        started = False
        finished = False
        try:
            async for chunk in self.open_stream(watch):
                if not started:
                    await send(self._start())
                    started = True
                finished = chunk.endswith(DONE_FRAME)
                await send({"type": "http.response.body", "body": chunk, "more_body": not finished})
                if finished:
                    return
        finally:
            watch.close()
        if not started:
            await send(self._start())
        if not finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _start(self) -> dict[str, Any]:
        return {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
