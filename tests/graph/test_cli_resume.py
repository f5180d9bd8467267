"""``assistant-graph ask`` on a conversation that is mid-turn: interrupted, or busy elsewhere.

The offline model is scripted (``ASSISTANTS_SERVER_OFFLINE_SCRIPT``) so a turn calls the
calculator, then takes seconds for its answer: the tests act once the tool result is printed
(a test that needs the turn to stay unfinished stops the process there, SIGSTOP, until it is
done).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import openai
import pytest
from assistant_graph.graph import build_graph
from cli_process import read_until, run_cli, start_cli, thread_of, write_script
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.sqlite import SqliteSaver

SLOW_RULE = {
    "match": "^slow",
    "turns": [
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]},
        {"text": "The slow answer is 42.", "latency_ms": 4000},
    ],
}
LONG_RULE = {
    "match": "^long",
    "turns": [
        {"tool_calls": [{"name": "calculator", "arguments": {"expression": "6 * 7"}}]},
        {"text": "The long answer is 42.", "latency_ms": 8000},
    ],
}
ELSEWHERE_RULE = {"match": "^elsewhere", "turns": [{"text": "Done.", "latency_ms": 30000}]}


@pytest.fixture
def slow_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    script = write_script(tmp_path, [SLOW_RULE, LONG_RULE])
    env["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(script)
    return env


@pytest.mark.slow
def test_ctrl_c_mid_turn_then_ask_thread_answers_the_interrupted_question(slow_env):
    """Ctrl-C while the model writes its answer: exit 130 naming the thread; the next
    ``ask --thread`` first finishes the interrupted question (prints its answer), then answers
    the new one, and the conversation holds both turns."""
    first = start_cli(["ask", "slow question"], slow_env)
    try:
        read_until(first, "← calculator: 42")
        first.send_signal(signal.SIGINT)
        _, stderr = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, stderr
    assert "Interrupted" in stderr
    assert "Traceback" not in stderr
    thread = thread_of(stderr)

    second = run_cli(["ask", "--thread", thread, "What's 1 + 1?"], slow_env)
    assert second.returncode == 0, second.stderr
    lines = second.stdout.splitlines()
    assert lines[0] == "Resuming the unfinished turn: slow question"
    assert lines[1] == "The slow answer is 42."
    assert "1 + 1 = 2" in second.stdout
    assert thread_of(second.stdout) == thread

    listing = run_cli(["threads"], slow_env)
    row = next(line for line in listing.stdout.splitlines() if line.startswith(thread))
    assert row.split()[1] == "8", row  # 2 turns: question, tool call, tool result, answer


@pytest.mark.slow
def test_ask_thread_while_another_ask_runs_on_it_says_busy(slow_env):
    """Two ``ask --thread T`` at once: the second exits 2 saying the conversation is busy,
    without touching it; the first one finishes normally."""
    seeded = run_cli(["ask", "What's 1 + 1?"], slow_env)
    assert seeded.returncode == 0, seeded.stderr
    thread = thread_of(seeded.stdout)

    first = start_cli(["ask", "--thread", thread, "long question"], slow_env)
    try:
        read_until(first, "← calculator: 42")
        # Hold the first turn where it is (mid-turn, holding the conversation) for as long as
        # the second ask takes, however loaded the machine: no race with the model's latency.
        first.send_signal(signal.SIGSTOP)
        try:
            second = run_cli(["ask", "--thread", thread, "What's 2 + 2?"], slow_env)
        finally:
            first.send_signal(signal.SIGCONT)
        stdout, stderr = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert second.returncode == 2, second.stderr
    assert f"conversation {thread} is busy" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, stderr
    assert "The long answer is 42." in stdout


@pytest.mark.slow
def test_assistants_thread_with_an_active_run_says_busy(scripted_server, tmp_path, slow_env):
    """Another client has a run going on the conversation's Assistants thread (the endpoint
    refuses new messages): ``ask --thread`` exits 2 saying the conversation is busy."""
    server = scripted_server([ELSEWHERE_RULE])
    slow_env["ASSISTANTS_BASE_URL"] = server.base_url
    slow_env["ASSISTANTS_API_KEY"] = server.api_key
    seeded = run_cli(["ask", "What's 1 + 1?"], slow_env)
    assert seeded.returncode == 0, seeded.stderr
    thread = thread_of(seeded.stdout)
    db = Path(slow_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3"
    with SqliteSaver.from_conn_string(str(db)) as saver:
        saved = build_graph(checkpointer=saver).get_state({"configurable": {"thread_id": thread}})
    assistants_thread = saved.values["assistant_thread_id"]

    client = openai.OpenAI(base_url=server.base_url, api_key=server.api_key)
    assistant = client.beta.assistants.create(model="offline")
    run = client.beta.threads.runs.create(
        assistants_thread,
        assistant_id=assistant.id,
        additional_messages=[{"role": "user", "content": "elsewhere: a long question"}],
    )
    try:
        result = run_cli(["ask", "--thread", thread, "What's 2 + 2?"], slow_env)
    finally:
        client.beta.threads.runs.cancel(run.id, thread_id=assistants_thread)
        client.close()
    assert result.returncode == 2, result.stderr
    assert f"conversation {thread} is busy" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_an_unfinished_turn_that_cannot_resume_is_dropped_plainly(slow_env):
    """A saved turn that cannot go on (tool results but no run awaiting them): the next
    ``ask --thread`` says it was dropped and why, then answers the new question (exit 0)."""
    db = Path(slow_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3"
    db.parent.mkdir(parents=True)
    call = {"id": "call_1", "name": "calculator", "args": {"expression": "5 + 5"}}
    with SqliteSaver.from_conn_string(str(db)) as saver:
        build_graph(checkpointer=saver).update_state(
            {"configurable": {"thread_id": "orphan"}},
            {
                "messages": [
                    HumanMessage("What's 5 + 5?"),
                    AIMessage("", tool_calls=[call]),
                    ToolMessage("10", tool_call_id="call_1", name="calculator"),
                ]
            },
            as_node="tools",
        )
    result = run_cli(["ask", "--thread", "orphan", "What's 1 + 1?"], slow_env)
    assert result.returncode == 0, result.stderr
    assert "the unfinished turn cannot be resumed, so it was dropped" in result.stderr
    assert "no run awaiting tool outputs" in result.stderr
    assert "Resuming the unfinished turn: What's 5 + 5?" in result.stdout
    assert "1 + 1 = 2" in result.stdout
    assert "Traceback" not in result.stderr
