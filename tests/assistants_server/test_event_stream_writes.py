"""A run's event stream writes only when it has something new.

Every write wakes the client, so the headers go out with the first frames, a request's
prelude goes out together with the events published meanwhile, and the frame that ends the
stream carries the end of the body. An idle stream whose client left ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from assistant_graph.assistants_server.event_stream_response import EventStreamResponse
from assistant_graph.assistants_server.events import (
    DONE_FRAME,
    RunEventBus,
    StreamEvent,
    stream_run,
)

RUN = {"id": "run_1", "status": "queued"}


def _respond(response: EventStreamResponse, receive: Any = None) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def never_disconnects() -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    asyncio.run(response({"type": "http"}, receive or never_disconnects, send))
    return sent


def test_a_stream_of_two_chunks_is_three_messages_with_the_end_on_the_last_chunk() -> None:
    async def chunks(_disconnected: Callable[[], bool]) -> AsyncIterator[bytes]:
        yield b"event: a\ndata: {}\n\n"
        yield b"event: b\ndata: {}\n\n" + DONE_FRAME

    sent = _respond(EventStreamResponse(chunks))
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.body",
    ]
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert [m["more_body"] for m in sent[1:]] == [True, False]


def test_a_stream_ending_without_done_still_ends_the_body() -> None:
    async def chunks(_disconnected: Callable[[], bool]) -> AsyncIterator[bytes]:
        yield b"event: a\ndata: {}\n\n"

    sent = _respond(EventStreamResponse(chunks))
    assert [m.get("more_body") for m in sent[1:]] == [True, False]
    assert sent[-1]["body"] == b""


def test_the_prelude_and_events_already_published_are_one_chunk() -> None:
    async def main() -> list[bytes]:
        bus = RunEventBus()
        queue = bus.subscribe("run_1")
        bus.publish("run_1", "thread.run.in_progress", {**RUN, "status": "in_progress"})
        prelude = [StreamEvent("thread.run.created", RUN), StreamEvent("thread.run.queued", RUN)]

        async def current() -> dict[str, Any]:
            return RUN

        chunks = []
        stream = stream_run(bus, "run_1", queue, prelude, current)
        chunks.append(await anext(stream))
        bus.publish("run_1", "thread.run.completed", {**RUN, "status": "completed"})
        chunks.append(await anext(stream))
        return chunks

    first, last = asyncio.run(main())
    assert [line for line in first.split(b"\n") if line.startswith(b"event:")] == [
        b"event: thread.run.created",
        b"event: thread.run.queued",
        b"event: thread.run.in_progress",
    ]
    assert last.startswith(b"event: thread.run.completed") and last.endswith(DONE_FRAME)


def test_an_idle_stream_ends_when_its_client_is_gone(monkeypatch: Any) -> None:
    monkeypatch.setattr("assistant_graph.assistants_server.events.STATE_CHECK_SECONDS", 0.01)
    reads = 0

    async def main() -> list[bytes]:
        nonlocal reads
        bus = RunEventBus()
        queue = bus.subscribe("run_1")

        async def current() -> dict[str, Any]:
            nonlocal reads
            reads += 1
            return {**RUN, "status": "in_progress"}

        async def gone() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        sent: list[bytes] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message.get("body", b""))

        def open_stream(disconnected: Callable[[], bool]) -> AsyncIterator[bytes]:
            return stream_run(bus, "run_1", queue, [], current, disconnected)

        await asyncio.wait_for(EventStreamResponse(open_stream)({}, gone, send), timeout=5)
        return sent

    sent = asyncio.run(main())
    assert sent[-1] == b""  # the body was ended
    assert reads <= 1, "an abandoned stream stops re-reading its run"
