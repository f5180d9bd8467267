"""A process killed (SIGKILL) between or inside steps resumes from the SQLite checkpoint file in
a new process, submitting tool outputs exactly once and duplicating nothing — with the graph's
default durability and with ``durability="async"``, also when the killed process lost every
checkpoint after the turn's input."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import openai
import pytest
from assistant_graph.graph import build_graph
from langgraph.checkpoint.sqlite import SqliteSaver

WORKER = Path(__file__).with_name("crash_worker.py")
RULES = [
    {
        "match": "crash test",
        "turns": [
            {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]},
            {"text": "the answer is 42"},
        ],
    }
]
POINTS = ["tool", "after_first_run", "during_submit", "after_submit"]
SLOW_CHECKPOINT_SECONDS = "2"
"""A checkpoint store slow enough that the next step could start before a write finished."""
LOST_CHECKPOINTS = "forever"
"""Checkpoint writes after the turn's input never finish: the killed process saved only the
input, however long it took to reach its kill point (no race with the machine's load)."""


def _run_worker(
    tmp_path: Path, mode: str, point: str, env: dict, *options: str
) -> subprocess.CompletedProcess:
    args = [
        sys.executable,
        str(WORKER),
        str(tmp_path / "conversations.sqlite3"),
        "crash-thread",
        mode,
        point,
        str(tmp_path / "requests.log"),
        *options,
    ]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


def _requests(tmp_path: Path) -> list[list[str]]:
    """The workers' requests as ``[idempotency key, method, path]``."""
    return [line.split() for line in (tmp_path / "requests.log").read_text().splitlines()]


def _submits(requests: list[list[str]]) -> int:
    return sum(path.endswith("/submit_tool_outputs") for _, _, path in requests)


def _server_rows(server) -> dict[str, list[tuple]]:
    """Every thread, message and run the server stored (read from its SQLite file)."""
    path = server.settings.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        return {
            "threads": connection.execute("SELECT id FROM threads").fetchall(),
            "messages": connection.execute("SELECT thread_id, role FROM messages").fetchall(),
            "runs": connection.execute("SELECT thread_id, status FROM runs").fetchall(),
        }


def _check_server(server, thread_id: str) -> None:
    """The server holds one thread with one user message, one answer, one completed run whose
    tool output was taken once, and nothing else (no second thread, no orphan run)."""
    rows = _server_rows(server)
    assert rows["threads"] == [(thread_id,)]
    assert sorted(rows["messages"]) == [(thread_id, "assistant"), (thread_id, "user")]
    assert rows["runs"] == [(thread_id, "completed")]
    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        runs = client.beta.threads.runs.list(thread_id).data
        assert [r.status for r in runs] == ["completed"]
        messages = client.beta.threads.messages.list(thread_id, order="asc").data
        assert [m.role for m in messages] == ["user", "assistant"]
        steps = client.beta.threads.runs.steps.list(runs[0].id, thread_id=thread_id).data
        outputs = [
            c.function.output
            for s in steps
            if s.type == "tool_calls"
            for c in s.step_details.tool_calls
        ]
        assert outputs == ["42"]
    finally:
        client.close()


def _saved_state(tmp_path: Path):
    with SqliteSaver.from_conn_string(str(tmp_path / "conversations.sqlite3")) as saver:
        return build_graph(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "crash-thread"}}
        )


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["default", "async"])
@pytest.mark.parametrize("point", POINTS)
def test_resume_after_sigkill_finishes_with_exactly_one_submit(
    scripted_server, tmp_path, monkeypatch, point, durability
):
    """Kill the worker at ``point``; ``invoke(None, config)`` in a new process finishes the turn.

    The Assistants thread ends with one run, one user message and one answer; the tool outputs
    were POSTed exactly once over both processes; the checkpoint file read in this process
    holds Human → AI(tool call) → Tool → AI answer with no duplicates. With ``"async"`` a kill
    can lose the last checkpoint writes: the resumed turn may then repeat a step, never a
    request's effect on the server."""
    server = scripted_server(RULES)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    env = dict(os.environ)

    crashed = _run_worker(tmp_path, "start", point, env, durability)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    submitted_before_crash = _submits(_requests(tmp_path))
    assert submitted_before_crash == (1 if point in ("during_submit", "after_submit") else 0)

    resumed = _run_worker(tmp_path, "resume", "none", env, durability)
    assert resumed.returncode == 0, resumed.stderr
    conversation = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert conversation[-1] == ["AIMessage", "the answer is 42"]
    if durability == "default":
        assert [kind for kind, _ in conversation] == [
            "HumanMessage",
            "AIMessage",
            "ToolMessage",
            "AIMessage",
        ]
        assert conversation[2][1] == "42"
    assert [kind for kind, _ in conversation].count("HumanMessage") == 1
    assert _submits(_requests(tmp_path)) == 1, _requests(tmp_path)

    state = _saved_state(tmp_path)
    assert state.next == ()
    assert state.values["messages"][-1].content == "the answer is 42"
    assert state.values["pending_run_id"] == ""
    _check_server(server, state.values["assistant_thread_id"])


@pytest.mark.slow
@pytest.mark.parametrize("point", ["after_first_run", "tool", "during_submit"])
def test_lost_checkpoints_with_async_durability_duplicate_nothing(
    scripted_server, tmp_path, monkeypatch, point
):
    """With ``durability="async"`` and a checkpoint store whose writes after the turn's input
    never finish (the killed process saved only that input), the resumed turn continues the
    run the lost steps started: one Assistants thread, one user message, one run (completed),
    the tool outputs taken once, every request that creates a thread with the same
    Idempotency-Key."""
    server = scripted_server(RULES)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    env = dict(os.environ)

    crashed = _run_worker(tmp_path, "start", point, env, "async", LOST_CHECKPOINTS)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    saved = _saved_state(tmp_path)  # the turn's input, none of its steps
    assert [type(m).__name__ for m in saved.values.get("messages", [])] in ([], ["HumanMessage"])

    resumed = _run_worker(tmp_path, "resume", "none", env, "async")
    assert resumed.returncode == 0, resumed.stderr
    conversation = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert conversation[0] == ["HumanMessage", "crash test: what is 6*7?"]
    assert conversation[-1] == ["AIMessage", "the answer is 42"]
    requests = _requests(tmp_path)
    thread_keys = {key for key, _, path in requests if path.endswith("/threads/runs")}
    assert len(thread_keys) == 1, requests
    assert _submits(requests) == 1, requests
    state = _saved_state(tmp_path)
    assert state.next == ()
    _check_server(server, state.values["assistant_thread_id"])


@pytest.mark.slow
def test_the_default_durability_saves_every_step_before_the_next(
    scripted_server, tmp_path, monkeypatch
):
    """Without a ``durability`` argument the graph saves each step before the next starts, so
    even a slow checkpoint store loses nothing: killed in the tool, the thread's checkpoint
    already holds the assistant's tool call."""
    server = scripted_server(RULES)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    crashed = _run_worker(
        tmp_path, "start", "tool", dict(os.environ), "default", SLOW_CHECKPOINT_SECONDS
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    saved = _saved_state(tmp_path)
    assert saved.next == ("tools",)
    assert saved.values["messages"][-1].tool_calls[0]["name"] == "calculator"
