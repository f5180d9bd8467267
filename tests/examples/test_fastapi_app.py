"""The example FastAPI service (``examples/fastapi_app/app.py``), run for real.

The service runs as a subprocess over real HTTP; conversations are checkpointed in a SQLite
file by ``AsyncSqliteSaver``, and a second process on the same file continues them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from app_process import APP_PATH, AppProcess, start_app, stop_app
from fastapi import HTTPException

FIRST_QUESTION = "What's 10 - 4 raised to the 2.7?"
FIRST_ANSWER = "-32.22"
FOLLOW_UP = "now add 17.241"
FOLLOW_UP_ANSWER = "-14.98"
AFTER_RESTART = "multiply it by 2"
AFTER_RESTART_ANSWER = "-29.96"


def load_app_module() -> ModuleType:
    """Import ``examples/fastapi_app/app.py`` (not a package) by path."""
    spec = importlib.util.spec_from_file_location("fastapi_example_app", APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def send(app: AppProcess, thread_id: str, text: str) -> dict[str, Any]:
    """POST one message and return the JSON answer (asserting 200)."""
    response = httpx.post(
        f"{app.url}/threads/{thread_id}/messages", json={"content": text}, timeout=60
    )
    assert response.status_code == 200, response.text
    return response.json()


def stream(app: AppProcess, thread_id: str, text: str) -> list[tuple[str, dict[str, Any]]]:
    """POST one message to the streaming endpoint and parse its Server-Sent Events."""
    events: list[tuple[str, dict[str, Any]]] = []
    event = ""
    with httpx.stream(
        "POST", f"{app.url}/threads/{thread_id}/stream", json={"content": text}, timeout=60
    ) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((event, json.loads(line.removeprefix("data: "))))
    return events


def conversation(app: AppProcess, thread_id: str) -> list[dict[str, Any]]:
    """GET the saved conversation (asserting 200)."""
    response = httpx.get(f"{app.url}/threads/{thread_id}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_conversations_stream_and_survive_a_restart(
    tmp_path: Path, request: pytest.FixtureRequest, database: str
) -> None:
    """Two turns on a thread, a streamed turn on another, then a new process continues both.

    The answer endpoint reports the turn's tool call and result; the stream sends them as
    separate ``tool_call``/``tool_result`` events before the ``answer`` and ``done``; the
    saved conversation is read back from the SQLite file (or the PostgreSQL database) by a
    second process, which also continues the conversation where the first left off.
    """
    db_path: Path | str = tmp_path / "conversations.sqlite3"
    if database == "postgresql":
        db_path = request.getfixturevalue("postgres_url")
    home = tmp_path / "home"
    app = start_app(db_path, home, tmp_path / "run-1")
    try:
        first = send(app, "alice", FIRST_QUESTION)
        assert FIRST_ANSWER in first["answer"]
        assert [step["type"] for step in first["steps"]] == ["tool_call", "tool_result", "answer"]
        call, result, _ = first["steps"]
        assert call["name"] == "calculator"
        assert result["tool_call_id"] == call["tool_call_id"]
        assert FIRST_ANSWER in result["content"]

        second = send(app, "alice", FOLLOW_UP)
        assert FOLLOW_UP_ANSWER in second["answer"]

        events = stream(app, "bob", FIRST_QUESTION)
        assert [name for name, _ in events] == ["tool_call", "tool_result", "answer", "done"]
        assert events[0][1]["name"] == "calculator"
        assert events[1][1]["tool_call_id"] == events[0][1]["tool_call_id"]
        assert FIRST_ANSWER in events[1][1]["content"]
        assert FIRST_ANSWER in events[2][1]["content"]
        assert events[3][1] == {"thread_id": "bob"}

        saved = conversation(app, "alice")
        assert [m["role"] for m in saved] == ["user", "assistant", "tool", "assistant"] * 2
        assert saved[-1]["content"] == second["answer"]
    finally:
        first_exit = stop_app(app)
    assert first_exit == 0, app.log_tail()

    restarted = start_app(db_path, home, tmp_path / "run-2")
    try:
        assert conversation(restarted, "alice") == saved
        assert [m["role"] for m in conversation(restarted, "bob")] == [
            "user",
            "assistant",
            "tool",
            "assistant",
        ]
        third = send(restarted, "alice", AFTER_RESTART)
        assert AFTER_RESTART_ANSWER in third["answer"]
        assert len(conversation(restarted, "alice")) == 12
    finally:
        second_exit = stop_app(restarted)
    assert second_exit == 0, restarted.log_tail()


@pytest.mark.slow
def test_bad_requests_get_clear_errors_and_save_nothing(tmp_path: Path) -> None:
    """Blank text and malformed thread ids are refused (422); unknown threads are 404.

    A refused message is not saved: the thread stays unknown afterwards.
    """
    app = start_app(tmp_path / "c.sqlite3", tmp_path / "home", tmp_path / "run")
    try:
        blank = httpx.post(f"{app.url}/threads/carol/messages", json={"content": "  \n "})
        assert blank.status_code == 422
        assert "blank" in blank.text
        empty = httpx.post(f"{app.url}/threads/carol/stream", json={"content": ""})
        assert empty.status_code == 422
        missing = httpx.post(f"{app.url}/threads/carol/messages", json={})
        assert missing.status_code == 422
        bad_id = httpx.get(f"{app.url}/threads/a%20b")
        assert bad_id.status_code == 422
        unknown = httpx.get(f"{app.url}/threads/carol")
        assert unknown.status_code == 404
        assert "Send it a message first" in unknown.json()["detail"]
    finally:
        exit_code = stop_app(app)
    assert exit_code == 0, app.log_tail()


def test_a_thread_runs_one_turn_at_a_time() -> None:
    """While a turn holds a thread, a second turn on it is refused with 409; others are free."""
    module = load_app_module()
    locks = module.ThreadLocks()

    async def scenario() -> None:
        lock = locks.claim("dave")
        async with lock:
            with pytest.raises(HTTPException) as refused:
                locks.claim("dave")
            assert refused.value.status_code == 409
            assert "already running on thread 'dave'" in refused.value.detail
            other = locks.claim("erin")
            assert other is not lock
        assert locks.claim("dave") is lock

    asyncio.run(scenario())
