"""A process killed (SIGKILL) between or inside steps resumes from the SQLite checkpoint file in
a new process, submitting tool outputs exactly once and duplicating nothing."""

from __future__ import annotations

import json
import os
import signal
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


def _run_worker(tmp_path: Path, mode: str, point: str, env: dict) -> subprocess.CompletedProcess:
    args = [
        sys.executable,
        str(WORKER),
        str(tmp_path / "conversations.sqlite3"),
        "crash-thread",
        mode,
        point,
        str(tmp_path / "requests.log"),
    ]
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["tool", "after_first_run", "during_submit", "after_submit"])
def test_resume_after_sigkill_finishes_with_exactly_one_submit(
    scripted_server, tmp_path, monkeypatch, point
):
    """Kill the worker at ``point``; ``invoke(None, config)`` in a new process finishes the turn.

    The Assistants thread ends with one run, one user message and one answer; the tool outputs
    were POSTed exactly once over both processes; the checkpoint file read in this process
    holds Human → AI(tool call) → Tool → AI answer with no duplicates."""
    server = scripted_server(RULES)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    env = dict(os.environ)

    crashed = _run_worker(tmp_path, "start", point, env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    before = (tmp_path / "requests.log").read_text().splitlines()
    submitted_before_crash = sum(r.endswith("/submit_tool_outputs") for r in before)
    assert submitted_before_crash == (1 if point in ("during_submit", "after_submit") else 0)

    resumed = _run_worker(tmp_path, "resume", "none", env)
    assert resumed.returncode == 0, resumed.stderr
    conversation = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert [kind for kind, _ in conversation] == [
        "HumanMessage",
        "AIMessage",
        "ToolMessage",
        "AIMessage",
    ]
    assert conversation[2][1] == "42"
    assert conversation[3][1] == "the answer is 42"

    requests = (tmp_path / "requests.log").read_text().splitlines()
    assert sum(r.endswith("/submit_tool_outputs") for r in requests) == 1, requests

    with SqliteSaver.from_conn_string(str(tmp_path / "conversations.sqlite3")) as saver:
        state = build_graph(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "crash-thread"}}
        )
    assert state.next == ()
    assert [m.content for m in state.values["messages"]][-1] == "the answer is 42"
    assert len(state.values["messages"]) == 4
    thread_id = state.values["assistant_thread_id"]
    assert state.values["pending_run_id"] == ""

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
