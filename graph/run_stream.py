"""Read an Assistants run's event stream (server-sent events) without building every event.

The SDK turns each event into a pydantic model of a large union, which costs more CPU than the
rest of a step. A step needs only three things from the stream: the latest run object (built
once, at the end), the text deltas and their message ids (plain JSON), and error events. This
module reads the ``event:``/``data:`` frames of the HTTP response itself and hands them over as
``(event name, decoded JSON)``; the ``[DONE]`` frame is skipped and the body is read to its
end, so the connection goes back to the pool.

An ``error`` event whose data carries an ``error`` object raises ``openai.APIError`` with its
message, as the SDK's stream does.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import openai
import orjson

STREAM_ERROR_FALLBACK = "An error occurred during streaming"


class _Frames:
    """Assembles SSE lines into (event, data) frames."""

    def __init__(self) -> None:
        self.event = ""
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            if not self.data:
                self.event = ""
                return None
            frame = (self.event, "\n".join(self.data))
            self.event, self.data = "", []
            return frame
        if line.startswith(":"):
            return None
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            self.event = value
        elif field == "data":
            self.data.append(value)
        return None

    def flush(self) -> tuple[str, str] | None:
        return self.feed("")


def _decoded(response: Any, frame: tuple[str, str]) -> tuple[str, Any] | None:
    event, data = frame
    if data.startswith("[DONE]"):
        return None
    try:
        payload = orjson.loads(data)  # several times faster on the KB-sized run events
    except orjson.JSONDecodeError:
        payload = json.loads(data)  # what only the standard library accepts (NaN, ...)
    if not event.startswith("thread.") and isinstance(payload, dict):
        error = payload.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            if not isinstance(message, str) or not message:
                message = STREAM_ERROR_FALLBACK
            raise openai.APIError(message=message, request=response.request, body=error)
    return event, payload


def iter_events(response: Any, lines: Iterable[str] | None = None) -> Iterator[tuple[str, Any]]:
    """Yield ``(event, data)`` for each frame of a streamed sync response."""
    frames = _Frames()
    for line in response.iter_lines() if lines is None else lines:
        frame = frames.feed(line)
        if frame is not None and (decoded := _decoded(response, frame)) is not None:
            yield decoded
    frame = frames.flush()
    if frame is not None and (decoded := _decoded(response, frame)) is not None:
        yield decoded


async def aiter_events(response: Any) -> AsyncIterator[tuple[str, Any]]:
    """Yield ``(event, data)`` for each frame of a streamed async response."""
    frames = _Frames()
    async for line in response.aiter_lines():
        frame = frames.feed(line)
        if frame is not None and (decoded := _decoded(response, frame)) is not None:
            yield decoded
    frame = frames.flush()
    if frame is not None and (decoded := _decoded(response, frame)) is not None:
        yield decoded
