"""The ``assistant-graph`` command, run as a real subprocess with its data dir in tmp."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assistant_graph.graph.cli import main

SEED_QUESTION = "What's 10 - 4 raised to the 2.7?"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _command() -> list[str]:
    script = shutil.which("assistant-graph")
    return [script] if script else [sys.executable, "-m", "assistant_graph.graph.cli"]


def _run(args: list[str], env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        _command() + args, capture_output=True, text=True, env=env, timeout=120, **kwargs
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    return env


def _thread_of(stdout: str) -> str:
    match = re.search(r"^thread: (\S+)", stdout, re.MULTILINE)
    assert match, stdout
    return match.group(1)


@pytest.mark.slow
def test_ask_continue_and_list_threads(cli_env, tmp_path):
    """``ask`` prints the tool call, its result and the answer, saves the conversation in the
    data dir, continues it with ``--thread``, and ``threads`` lists it."""
    first = _run(["ask", SEED_QUESTION], cli_env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "→ calculator(expression='10 - 4 ** 2.7')"
    assert lines[1].startswith("← calculator: -32.224")
    assert "-32.224" in lines[2]
    assert "Traceback" not in first.stderr
    thread = _thread_of(first.stdout)
    assert (tmp_path / "home" / "conversations.sqlite3").is_file()

    second = _run(["ask", "--thread", thread, "now add 17.241"], cli_env)
    assert second.returncode == 0, second.stderr
    assert "-14.983" in second.stdout
    assert _thread_of(second.stdout) == thread

    listing = _run(["threads"], cli_env)
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith(thread))
    assert row.split()[1] == "8"
    assert SEED_QUESTION in row


@pytest.mark.slow
def test_unknown_thread_is_a_usage_error(cli_env):
    """``--thread`` naming no saved conversation: a clear message and exit code 2."""
    result = _run(["ask", "--thread", "no-such-thread", "hi"], cli_env)
    assert result.returncode == 2
    assert "Unknown thread 'no-such-thread'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unreachable_endpoint_is_a_clear_error(cli_env):
    """ASSISTANTS_BASE_URL pointing at a closed port: exit 2 and a message naming it; the
    endpoint is checked before the turn, so no conversation (not even the user's message) is
    saved and ``threads`` lists nothing."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli_env["ASSISTANTS_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    result = _run(["ask", "hello"], cli_env)
    assert result.returncode == 2
    assert (
        f"Cannot reach the Assistants endpoint at http://127.0.0.1:{port}/v1: connection refused."
        in result.stderr
    )
    assert "unset it to use the embedded server" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (Path(cli_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3").exists()
    listing = _run(["threads"], cli_env)
    assert listing.returncode == 0, listing.stderr
    assert "No saved conversations" in listing.stdout, "the failed turn saved nothing"


@pytest.mark.slow
def test_chat_answers_and_exits_on_end_of_input(cli_env):
    """``chat`` answers each line and exits 0 on Ctrl-D (end of input) without a traceback."""
    result = _run(["chat"], cli_env, input=SEED_QUESTION + "\n")
    assert result.returncode == 0, result.stderr
    assert "-32.224" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_chat_ctrl_c_exits_130_without_traceback(cli_env):
    """Ctrl-C at the prompt exits with 130 and a short note, no traceback.

    The child gets SIGINT's default disposition, as in a terminal: a test run started in the
    background of a non-interactive shell inherits SIGINT ignored, and Python keeps it so.
    """
    process = subprocess.Popen(
        [*_command(), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
        preexec_fn=_default_sigint,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()  # printed once the graph is ready
        assert banner.startswith("Chatting on thread")
        time.sleep(0.2)  # let it reach input(); not a timing assertion
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "Interrupted" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("question", ["", "  \n "])
def test_empty_question_is_a_usage_error(tmp_path, capsys, question):
    """``ask ""`` (or only whitespace) exits 2 with a message saying what to send, before
    anything is started or saved (no conversation file appears)."""
    db = tmp_path / "conversations.sqlite3"
    assert main(["ask", question, "--db", str(db)]) == 2
    assert "the message is empty" in capsys.readouterr().err
    assert not db.exists()


def test_unknown_thread_creates_no_conversation_file(tmp_path, capsys):
    """``--thread`` on a missing conversation file: exit 2, and the file is not created."""
    db = tmp_path / "conversations.sqlite3"
    assert main(["ask", "--thread", "nope", "hi", "--db", str(db)]) == 2
    assert "Unknown thread 'nope'" in capsys.readouterr().err
    assert not db.exists()


def test_ask_prints_what_the_model_wrote_with_its_tool_calls(
    chat_model_server, tmp_path, capsys, monkeypatch
):
    """A model that writes text and calls tools in one step: ``ask`` prints that text before
    the calls, and the answer once (without the earlier steps' text)."""
    fake = chat_model_server.fake
    fake.add_tool_calls(("calculator", {"expression": "2 + 3"}), text="Let me compute that.")
    fake.add_text("It is 5.")
    monkeypatch.setenv("ASSISTANTS_BASE_URL", chat_model_server.base_url)
    assert main(["ask", "what is 2 + 3?", "--db", str(tmp_path / "c.sqlite3")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "Let me compute that.",
        "→ calculator(expression='2 + 3')",
        "← calculator: 5",
        "It is 5.",
    ]
    assert lines[4].startswith("thread: ")


def test_threads_on_an_empty_data_dir(tmp_path, capsys):
    """``threads`` with no conversation file says so and succeeds."""
    assert main(["threads", "--db", str(tmp_path / "none.sqlite3")]) == 0
    assert "No saved conversations" in capsys.readouterr().out


@pytest.mark.slow
def test_serve_delegates_to_the_server_cli(cli_env):
    """``assistant-graph serve --help`` is the server's own command line."""
    result = _run(["serve", "--help"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout
