"""The run stream reader turns SSE frames into (event, JSON) pairs the way the SDK reads them:
multi-line data joined, comments and ``[DONE]`` skipped, error events raised as APIError."""

from __future__ import annotations

import httpx
import openai
import pytest
from assistant_graph.graph.run_stream import iter_events


def _response(body: str) -> httpx.Response:
    request = httpx.Request("POST", "http://127.0.0.1/v1/threads/runs")
    return httpx.Response(200, text=body, request=request)


def test_frames_become_event_and_json():
    """Event names and JSON data come through; a data field split over lines is joined;
    comment lines and the final ``[DONE]`` frame are skipped; a last frame without a blank
    line still counts."""
    body = (
        ": keep-alive\n\n"
        'event: thread.run.created\ndata: {"id": "run_1",\ndata:  "status": "queued"}\n\n'
        'event: thread.message.delta\ndata: {"id": "msg_1", "delta": {}}\n\n'
        "event: done\ndata: [DONE]\n\n"
        'event: thread.run.completed\ndata: {"id": "run_1", "status": "completed"}'
    )
    response = _response(body)
    assert list(iter_events(response, body.split("\n"))) == [
        ("thread.run.created", {"id": "run_1", "status": "queued"}),
        ("thread.message.delta", {"id": "msg_1", "delta": {}}),
        ("thread.run.completed", {"id": "run_1", "status": "completed"}),
    ]


def test_an_error_event_raises_with_its_message():
    """``event: error`` with an ``error`` object raises ``openai.APIError`` carrying its message."""
    body = 'event: error\ndata: {"error": {"message": "model down", "code": "server_error"}}\n\n'
    with pytest.raises(openai.APIError, match="model down"):
        list(iter_events(_response(body), body.split("\n")))
