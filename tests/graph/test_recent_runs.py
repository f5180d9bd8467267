"""A run this process streamed to ``requires_action`` moments ago is submitted to without reading
it again; anything else (a new process, a consumed or stale entry, a refused submit) reads the
run first, so tool outputs still reach a run exactly once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import openai
import pytest
from assistant_graph.graph import build_graph
from assistant_graph.graph.recent_runs import RecentRuns, recent_runs
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver

ENDPOINT = "http://127.0.0.1:1/v1/"


def _run(run_id: str, status: str = "requires_action", expires_at: int | None = None):
    return SimpleNamespace(id=run_id, status=status, expires_at=expires_at)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_used_once_and_only_for_its_endpoint():
    """``take`` returns the remembered run once; a second take, another run id or another
    endpoint gets None; runs not in ``requires_action`` are not remembered."""
    runs = RecentRuns()
    runs.remember(ENDPOINT, _run("run_a"))
    runs.remember(ENDPOINT, _run("run_b", status="completed"))
    assert runs.take("http://elsewhere/v1/", "run_a") is None
    assert runs.take(ENDPOINT, "run_a").id == "run_a"
    assert runs.take(ENDPOINT, "run_a") is None
    assert runs.take(ENDPOINT, "run_b") is None


def test_stale_entries_are_not_used():
    """An entry older than ``max_age_s``, or too close to the run's ``expires_at``, is dropped."""
    clock, wall = Clock(), Clock(50_000.0)
    runs = RecentRuns(max_age_s=30, expiry_margin_s=60, clock=clock, wall_clock=wall)
    runs.remember(ENDPOINT, _run("run_old", expires_at=60_000))
    clock.now += 30
    assert runs.take(ENDPOINT, "run_old") is None
    runs.remember(ENDPOINT, _run("run_expiring", expires_at=50_059))
    assert runs.take(ENDPOINT, "run_expiring") is None
    runs.remember(ENDPOINT, _run("run_fresh", expires_at=50_061))
    clock.now += 29
    assert runs.take(ENDPOINT, "run_fresh").id == "run_fresh"


def test_the_memory_is_bounded():
    """Past ``max_entries`` the oldest runs are forgotten."""
    runs = RecentRuns(max_entries=2)
    for name in ("run_1", "run_2", "run_3"):
        runs.remember(ENDPOINT, _run(name))
    assert len(runs) == 2
    assert runs.take(ENDPOINT, "run_1") is None
    assert runs.take(ENDPOINT, "run_3") is not None


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SqliteSaver]:
    """A SqliteSaver on a fresh file."""
    connection = sqlite3.connect(tmp_path / "checkpoints.sqlite3", check_same_thread=False)
    yield SqliteSaver(connection)
    connection.close()


def _run_reads(request_log) -> list:
    return [r for r in request_log.requests if r[0] == "GET" and "/runs/" in r[1]]


def test_a_new_process_reads_the_run_before_submitting(server, saver, request_log):
    """With the memory empty (as after a restart), the step reads the pending run once, then
    submits; with it filled by this process's own stream, the submit goes out unread."""
    graph = build_graph(
        checkpointer=saver, client=request_log.sync_client(server), interrupt_before=["tools"]
    )
    for thread, forget in (("fresh-process", True), ("same-process", False)):
        config = {"configurable": {"thread_id": thread}}
        graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config)
        if forget:
            recent_runs.clear()
        request_log.clear()
        result = graph.invoke(None, config)
        assert "5" in result["messages"][-1].content
        assert len(request_log.matching("POST", "/submit_tool_outputs")) == 1
        assert len(_run_reads(request_log)) == (1 if forget else 0), request_log.requests


def test_a_refused_submit_reads_the_run_and_continues(server, saver, request_log):
    """A run remembered in ``requires_action`` but cancelled behind this process's back: the
    submit is refused, the step reads the run and reports the cancelled run as an AI message
    (no exception, nothing pending)."""
    graph = build_graph(
        checkpointer=saver, client=request_log.sync_client(server), interrupt_before=["tools"]
    )
    config = {"configurable": {"thread_id": "cancelled-behind"}}
    graph.invoke({"messages": [HumanMessage("What's 2 + 3?")]}, config)
    state = graph.get_state(config).values
    other = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    try:
        other.beta.threads.runs.cancel(
            state["pending_run_id"], thread_id=state["assistant_thread_id"]
        )
    finally:
        other.close()
    request_log.clear()

    result = graph.invoke(None, config)

    last = result["messages"][-1]
    assert isinstance(last, AIMessage) and not last.tool_calls
    assert last.response_metadata["assistant_run_status"] == "cancelled"
    assert len(request_log.matching("POST", "/submit_tool_outputs")) == 1
    assert len(_run_reads(request_log)) >= 1
    assert graph.get_state(config).values["pending_run_id"] == ""
