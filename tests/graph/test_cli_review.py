"""``assistant-graph`` with ``ASSISTANT_INTERRUPT_BEFORE_TOOLS=true``: the tool review pause.

In a terminal (a real pseudo-terminal) the command shows the calls and asks approve / edit /
reject; without one it refuses before the turn, so no tool call is ever left without a result.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_process import TerminalSession, run_cli, thread_of

QUESTION = "What's 2 + 2?"


@pytest.fixture
def review_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    env["ASSISTANT_INTERRUPT_BEFORE_TOOLS"] = "true"
    return env


@pytest.fixture
def terminal():
    sessions: list[TerminalSession] = []

    def start(args: list[str], env: dict) -> TerminalSession:
        sessions.append(TerminalSession(args, env))
        return sessions[-1]

    yield start
    for session in sessions:
        session.close()


@pytest.mark.slow
def test_review_without_a_terminal_refuses_before_the_turn(review_env):
    """No TTY to ask on: exit 2 with a message saying how to proceed; nothing is saved (no
    conversation with a tool call that has no result), and no traceback."""
    result = run_cli(["ask", QUESTION], review_env)
    assert result.returncode == 2, result.stderr
    assert "ASSISTANT_INTERRUPT_BEFORE_TOOLS is on" in result.stderr
    assert "Run the command in a terminal" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (Path(review_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3").exists()


@pytest.mark.slow
def test_approve_in_a_terminal_runs_the_tool_and_answers(terminal, review_env):
    """``a`` at the prompt: the proposed call runs and the answer is printed (exit 0)."""
    session = terminal(["ask", QUESTION], review_env)
    shown = session.expect("[a]pprove, [e]dit or [r]eject? ")
    assert "1. calculator(expression='2 + 2')" in shown
    session.send("a")
    status, output = session.wait()
    assert status == 0, output
    assert "← calculator: 4" in output
    assert "2 + 2 = 4" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_edit_in_a_terminal_runs_the_edited_call(terminal, review_env):
    """``e`` then new JSON arguments (after one invalid line, asked again): the edited call
    runs and the answer uses its result."""
    session = terminal(["ask", QUESTION], review_env)
    session.expect("[a]pprove, [e]dit or [r]eject? ")
    session.send("e")
    session.expect("as a JSON object")
    session.send("6 * 7")
    session.expect("Not a JSON object")
    session.send('{"expression": "6 * 7"}')
    status, output = session.wait()
    assert status == 0, output
    assert "→ (edited) calculator(expression='6 * 7')" in output
    assert "← calculator: 42" in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_reject_in_a_terminal_answers_without_running_the_tool(terminal, review_env):
    """``r`` and a reason: the call does not run, the assistant gets the rejection as the
    call's result and still answers (exit 0)."""
    session = terminal(["ask", QUESTION], review_env)
    session.expect("[a]pprove, [e]dit or [r]eject? ")
    session.send("r")
    session.expect("Reason (optional): ")
    session.send("not now")
    status, output = session.wait()
    assert status == 0, output
    assert "✗ calculator: The tool call was rejected by a person" in output
    assert "not now" in output
    assert "← calculator" not in output
    assert "Traceback" not in output


@pytest.mark.slow
def test_review_left_open_is_asked_again_on_the_next_ask(terminal, review_env):
    """Ctrl-C at the review prompt: exit 130, the pause stays in the conversation; without a
    terminal ``ask --thread`` refuses (exit 2, saying how to continue), in a terminal it asks
    the same review again and then answers the new question too."""
    session = terminal(["ask", QUESTION], review_env)
    session.expect("[a]pprove, [e]dit or [r]eject? ")
    session.interrupt()
    status, output = session.wait()
    assert status == 130, output
    thread = thread_of(output)

    piped = run_cli(["ask", "--thread", thread, "What's 3 + 3?"], review_env)
    assert piped.returncode == 2
    assert "no terminal to ask on" in piped.stderr

    session = terminal(["ask", "--thread", thread, "What's 3 + 3?"], review_env)
    shown = session.expect("[a]pprove, [e]dit or [r]eject? ")
    assert f"Resuming the unfinished turn: {QUESTION}" in shown
    assert "calculator(expression='2 + 2')" in shown
    session.send("a")
    shown = session.expect("[a]pprove, [e]dit or [r]eject? ")
    assert "2 + 2 = 4" in shown
    assert "calculator(expression='3 + 3')" in shown
    session.send("a")
    status, output = session.wait()
    assert status == 0, output
    assert "3 + 3 = 6" in output


@pytest.mark.slow
def test_end_of_input_at_the_review_question_leaves_the_review_open(terminal, review_env):
    """Ctrl-D at the review question: exit 130 with the note naming the thread, no traceback.
    The review stays open: ``ask --thread`` without a terminal refuses (exit 2) even with the
    review setting turned off, rather than run the calls unreviewed."""
    session = terminal(["ask", QUESTION], review_env)
    session.expect("[a]pprove, [e]dit or [r]eject? ")
    os.write(session.master, b"\x04")
    status, output = session.wait()
    assert status == 130, output
    assert "Interrupted" in output
    assert "Traceback" not in output
    review_env["ASSISTANT_INTERRUPT_BEFORE_TOOLS"] = "false"
    piped = run_cli(["ask", "--thread", thread_of(output)], review_env)
    assert piped.returncode == 2, piped.stderr
    assert "is paused for a review of its tool calls" in piped.stderr
