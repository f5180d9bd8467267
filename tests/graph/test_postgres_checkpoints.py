"""The graph on PostgreSQL (``PostgresSaver``): a turn killed in one process is finished by
another with exactly one submit, and the command line's ``--db postgresql://...`` resumes,
lists and guards conversations across processes like a conversation file."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from assistant_graph.graph import build_graph
from assistant_graph.graph.checkpointers import open_checkpointer
from cli_process import read_until, run_cli, start_cli, thread_of, write_script
from test_cli_resume import LONG_RULE, SLOW_RULE
from test_crash_resume import POINTS, RULES, WORKER, _check_server, _requests, _submits


def _run_worker(tmp_path: Path, url: str, mode: str, point: str, env: dict):
    args = [sys.executable, str(WORKER), url, "crash-thread", mode, point,
            str(tmp_path / "requests.log")]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_resume_after_sigkill_on_postgres_finishes_with_exactly_one_submit(
    scripted_server, tmp_path, monkeypatch, postgres_url, point
):
    """Kill the worker at ``point``; a new process on the same PostgreSQL database finishes the
    turn: one run, one answer, the tool outputs POSTed exactly once over both processes, and
    the saved conversation is Human → AI(tool call) → Tool → AI answer."""
    server = scripted_server(RULES)
    monkeypatch.setenv("ASSISTANTS_BASE_URL", server.base_url)
    env = dict(os.environ)
    crashed = _run_worker(tmp_path, postgres_url, "start", point, env)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    resumed = _run_worker(tmp_path, postgres_url, "resume", "none", env)
    assert resumed.returncode == 0, resumed.stderr
    conversation = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert [kind for kind, _ in conversation] == [
        "HumanMessage", "AIMessage", "ToolMessage", "AIMessage",
    ]  # fmt: skip
    assert conversation[-1] == ["AIMessage", "the answer is 42"]
    assert _submits(_requests(tmp_path)) == 1, _requests(tmp_path)
    with open_checkpointer(postgres_url) as saver:
        state = build_graph(checkpointer=saver).get_state(
            {"configurable": {"thread_id": "crash-thread"}}
        )
    assert state.next == ()
    _check_server(server, state.values["assistant_thread_id"])


@pytest.fixture
def pg_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    env["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(write_script(tmp_path, [SLOW_RULE, LONG_RULE]))
    return env


@pytest.mark.slow
def test_cli_on_postgres_resumes_an_interrupted_turn_in_another_process(pg_env, postgres_url):
    """``ask --db postgresql://...`` interrupted mid-turn (Ctrl-C); another process's
    ``ask --thread`` on the same URL finishes it first, and ``threads --db`` lists both turns."""
    first = start_cli(["ask", "--db", postgres_url, "slow question"], pg_env)
    try:
        read_until(first, "← calculator: 42")
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, stderr
    thread = thread_of(stderr)
    second = run_cli(["ask", "--db", postgres_url, "--thread", thread, "What's 1 + 1?"], pg_env)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[:2] == ["Resuming the unfinished turn: slow question", "The slow answer is 42."]
    assert "1 + 1 = 2" in second.stdout
    listing = run_cli(["threads", "--db", postgres_url], pg_env)
    row = next(line for line in listing.stdout.splitlines() if line.startswith(thread))
    assert row.split()[1] == "8", row


@pytest.mark.slow
def test_two_workers_racing_on_one_postgres_conversation(pg_env, postgres_url):
    """Two ``ask --thread T --db postgresql://...`` at once: the second exits 2 saying the
    conversation is busy (the advisory lock), the first finishes, and the conversation holds
    each turn once."""
    seeded = run_cli(["ask", "--db", postgres_url, "What's 1 + 1?"], pg_env)
    assert seeded.returncode == 0, seeded.stderr
    thread = thread_of(seeded.stdout)
    first = start_cli(["ask", "--db", postgres_url, "--thread", thread, "long question"], pg_env)
    try:
        read_until(first, "← calculator: 42")
        # Hold the first turn mid-turn (holding the lock) however long the second ask takes.
        first.send_signal(signal.SIGSTOP)
        try:
            second = run_cli(
                ["ask", "--db", postgres_url, "--thread", thread, "What's 2 + 2?"], pg_env
            )
        finally:
            first.send_signal(signal.SIGCONT)
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    assert f"conversation {thread} is busy" in second.stderr
    assert first.returncode == 0, stderr
    assert "The long answer is 42." in stdout
    listing = run_cli(["threads", "--db", postgres_url], pg_env)
    row = next(line for line in listing.stdout.splitlines() if line.startswith(thread))
    assert row.split()[1] == "8", row  # two turns of four messages, none duplicated


def test_async_postgres_saver_keeps_a_conversation_for_a_sync_reader(server, postgres_url):
    """``ainvoke`` with LangGraph's ``AsyncPostgresSaver``: the turn is saved in PostgreSQL, and
    a sync ``open_checkpointer`` on the same URL continues the conversation on the same
    Assistants thread."""
    from assistant_graph.graph import Context
    from langchain_core.messages import HumanMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    config = {"configurable": {"thread_id": "async-pg"}}
    context = Context(base_url=server.base_url)

    async def first_turn() -> dict:
        async with AsyncPostgresSaver.from_conn_string(postgres_url) as saver:
            await saver.setup()
            graph = build_graph(checkpointer=saver)
            question = {"messages": [HumanMessage("What's 10 - 4 raised to the 2.7?")]}
            return await graph.ainvoke(question, config, context=context)

    first = asyncio.run(first_turn())
    assert "-32.224" in first["messages"][-1].content
    with open_checkpointer(postgres_url) as saver:
        graph = build_graph(checkpointer=saver)
        thread_id = graph.get_state(config).values["assistant_thread_id"]
        second = graph.invoke({"messages": [HumanMessage("now add 17.241")]}, config,
                              context=context)  # fmt: skip
        assert len(second["messages"]) == 8
        assert "-14.983" in second["messages"][-1].content
        assert graph.get_state(config).values["assistant_thread_id"] == thread_id
