"""The ``assistant-graph`` command, run as a real subprocess with its data dir in tmp.

Every row of the README's exit-code table is checked through the console script: 0 (a turn
answered), 1 (the run failed: scripted error, model endpoint refusing its key, unreachable
model), 2 (bad usage or configuration), 130 (Ctrl-C; also in ``test_cli_resume``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from assistant_graph.graph.cli import main
from cli_process import command, default_sigint, run_cli, thread_of, write_script
from fake_chat_completions import FakeChatCompletions
from langgraph.checkpoint.sqlite import SqliteSaver

SEED_QUESTION = "What's 10 - 4 raised to the 2.7?"


@pytest.fixture
def cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    return env


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _assert_failed_turn(result: subprocess.CompletedProcess, reason: str) -> None:
    """Exit 1, the run's error on stderr, no answer and no "continue" hint as if all were fine."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "the turn failed" in result.stderr
    assert reason in result.stderr
    assert "continue with" not in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_ask_continue_and_list_threads(cli_env, tmp_path):
    """``ask`` prints the tool call, its result and the answer, saves the conversation in the
    data dir, continues it with ``--thread``, and ``threads`` lists it."""
    first = run_cli(["ask", SEED_QUESTION], cli_env)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "→ calculator(expression='10 - 4 ** 2.7')"
    assert lines[1].startswith("← calculator: -32.224")
    assert "-32.224" in lines[2]
    assert "Traceback" not in first.stderr
    thread = thread_of(first.stdout)
    assert (tmp_path / "home" / "conversations.sqlite3").is_file()

    second = run_cli(["ask", "--thread", thread, "now add 17.241"], cli_env)
    assert second.returncode == 0, second.stderr
    assert "-14.983" in second.stdout
    assert thread_of(second.stdout) == thread

    listing = run_cli(["threads"], cli_env)
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if line.startswith(thread))
    assert row.split()[1] == "8"
    assert SEED_QUESTION in row


@pytest.mark.slow
def test_unknown_thread_is_a_usage_error(cli_env):
    """``--thread`` naming no saved conversation: a clear message and exit code 2."""
    result = run_cli(["ask", "--thread", "no-such-thread", "hi"], cli_env)
    assert result.returncode == 2
    assert "Unknown thread 'no-such-thread'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_unreachable_endpoint_is_a_clear_error(cli_env):
    """ASSISTANTS_BASE_URL pointing at a closed port: exit 2 and a message naming it; the
    endpoint is checked before the turn, so no conversation (not even the user's message) is
    saved and ``threads`` lists nothing."""
    port = _closed_port()
    cli_env["ASSISTANTS_BASE_URL"] = f"http://127.0.0.1:{port}/v1"
    result = run_cli(["ask", "hello"], cli_env)
    assert result.returncode == 2
    assert (
        f"Cannot reach the Assistants endpoint at http://127.0.0.1:{port}/v1: connection refused."
        in result.stderr
    )
    assert "unset it to use the embedded server" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (Path(cli_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3").exists()
    listing = run_cli(["threads"], cli_env)
    assert listing.returncode == 0, listing.stderr
    assert "No saved conversations" in listing.stdout, "the failed turn saved nothing"


@pytest.mark.slow
def test_chat_answers_and_exits_on_end_of_input(cli_env):
    """``chat`` answers each line and exits 0 on Ctrl-D (end of input) without a traceback."""
    result = run_cli(["chat"], cli_env, input=SEED_QUESTION + "\n")
    assert result.returncode == 0, result.stderr
    assert "-32.224" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_chat_exits_1_when_its_last_turn_failed(cli_env, tmp_path):
    """``chat`` left (end of input) right after a failed turn exits 1, as ``ask`` does; when
    the user went on and a later turn succeeded, it exits 0."""
    script = write_script(
        tmp_path, [{"match": "^explode", "turns": [{"error": {"message": "boom"}}]}]
    )
    cli_env["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(script)
    failed = run_cli(["chat"], cli_env, input="explode now\n")
    assert failed.returncode == 1, (failed.stdout, failed.stderr)
    assert "boom" in failed.stderr
    assert "Traceback" not in failed.stderr

    recovered = run_cli(["chat"], cli_env, input=f"explode now\n{SEED_QUESTION}\n/exit\n")
    assert recovered.returncode == 0, (recovered.stdout, recovered.stderr)
    assert "boom" in recovered.stderr
    assert "-32.224" in recovered.stdout


@pytest.mark.slow
def test_chat_ctrl_c_exits_130_without_traceback(cli_env):
    """Ctrl-C at the prompt exits with 130 and a short note, no traceback.

    The child gets SIGINT's default disposition, as in a terminal: a test run started in the
    background of a non-interactive shell inherits SIGINT ignored, and Python keeps it so.
    """
    process = subprocess.Popen(
        [*command(), "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
        preexec_fn=default_sigint,
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
    result = run_cli(["serve", "--help"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "--port" in result.stdout


@pytest.mark.slow
def test_failed_run_exits_1_without_the_continue_hint(cli_env, tmp_path):
    """A run the model ends with an error (offline script): exit 1, the run's error on stderr,
    and no "continue with --thread" line as after a successful turn."""
    script = write_script(
        tmp_path, [{"match": "^explode", "turns": [{"error": {"message": "boom"}}]}]
    )
    cli_env["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(script)
    result = run_cli(["ask", "explode now"], cli_env)
    _assert_failed_turn(result, "ended with status 'failed': boom")
    assert "ask again with: assistant-graph ask --thread" in result.stderr


@pytest.mark.slow
def test_model_endpoint_rejecting_its_key_exits_1(cli_env):
    """The embedded server's model endpoint answers 401: the run fails and ``ask`` exits 1."""
    with FakeChatCompletions() as model:
        model.add_error(401, "Incorrect API key provided.")
        cli_env["OPENAI_BASE_URL"] = model.base_url
        cli_env["OPENAI_API_KEY"] = "sk-wrong"
        result = run_cli(["ask", "hello there"], cli_env)
    _assert_failed_turn(result, "status 'failed'")


@pytest.mark.slow
def test_unreachable_model_exits_1(cli_env):
    """The model endpoint (``OPENAI_BASE_URL``) is down: the run fails and ``ask`` exits 1."""
    cli_env["OPENAI_BASE_URL"] = f"http://127.0.0.1:{_closed_port()}/v1"
    cli_env["OPENAI_API_KEY"] = "sk-test"
    result = run_cli(["ask", "hello there"], cli_env)
    _assert_failed_turn(result, "Could not connect to the model endpoint")


@pytest.mark.slow
@pytest.mark.parametrize("content", [b"not a database at all", None])
def test_a_file_that_is_not_a_conversation_file_is_a_usage_error(cli_env, tmp_path, content):
    """``--db`` naming a text file, or an SQLite database of something else (the server's
    store): ``threads`` and ``ask`` exit 2 with a message naming the file, no traceback, and
    the file is left unchanged."""
    if content is None:
        assert run_cli(["ask", "What's 1 + 1?"], cli_env).returncode == 0
        db = Path(cli_env["ASSISTANT_GRAPH_HOME"]) / "assistants.sqlite3"
    else:
        db = tmp_path / "notadb.txt"
        db.write_bytes(content)
    before = db.read_bytes()
    for args in (["threads"], ["ask", "hi"], ["ask", "--thread", "t1", "hi"], ["chat"]):
        result = run_cli([*args, "--db", str(db)], cli_env)
        assert result.returncode == 2, (args, result.stderr)
        assert f"{db} is not a conversation file" in result.stderr
        assert "Traceback" not in result.stderr
    assert db.read_bytes() == before


@pytest.mark.slow
def test_endpoint_url_without_v1_is_a_configuration_error(cli_env, server):
    """``ASSISTANTS_BASE_URL`` without ``/v1`` (the server answers 404 "Invalid URL"): exit 2
    and a hint naming the URL to use; nothing is saved."""
    root = server.base_url.removesuffix("/v1")
    cli_env["ASSISTANTS_BASE_URL"] = root
    result = run_cli(["ask", "hello"], cli_env)
    assert result.returncode == 2, result.stderr
    assert "Invalid URL" in result.stderr
    assert f"usually ending in /v1 (e.g. {root}/v1)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (Path(cli_env["ASSISTANT_GRAPH_HOME"]) / "conversations.sqlite3").exists()


IMPORTS_OF = """
import json, sys
from assistant_graph.graph.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""
GRAPH_ONLY_MODULES = (
    "langchain_core",
    "langchain_community",
    "langchain_classic",
    "langgraph",
    "openai",
    "assistant_graph.graph.builder",
    "assistant_graph.graph.runnable",
    "assistant_graph.graph.cli_turn",
)
"""Modules only the commands that run the graph (``ask``, ``chat``) may import."""


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["serve", "--help"], ["threads"]])
def test_commands_that_run_no_graph_import_no_langchain(cli_env, args):
    """``--help``, ``--version``, ``serve --help`` and ``threads`` (no conversation file)
    start without importing LangChain, LangGraph, openai or the graph's modules."""
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF, *args],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
        check=True,
    )
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    loaded = [m for m in modules if m.startswith(GRAPH_ONLY_MODULES)]
    assert loaded == [], loaded


def test_threads_reads_conversations_without_building_the_graph(cli_env, tmp_path):
    """``threads`` on a conversation file reads its checkpoints without importing the graph
    (no builder, runnable, langchain_community or openai)."""
    db = tmp_path / "conversations.sqlite3"
    with SqliteSaver.from_conn_string(str(db)) as saver:
        saver.setup()
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS_OF, "threads", "--db", str(db)],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
        check=True,
    )
    assert "No saved conversations" in result.stdout
    modules = json.loads(result.stdout.strip().splitlines()[-1])
    heavy = tuple(m for m in GRAPH_ONLY_MODULES if m not in ("langgraph", "langchain_core"))
    assert [m for m in modules if m.startswith(heavy)] == []


@pytest.mark.parametrize("args", [["threads"], ["ask", "What's 2 + 2?"]])
def test_an_unreachable_postgres_db_is_a_clear_usage_error_without_the_password(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--db`` naming a PostgreSQL server nobody listens on: exit 2 with a message naming the
    database and what to check, no traceback, and never the URL's password."""
    with socket.socket() as probe:  # a loopback port with no server behind it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://someone:s3cret-pw@127.0.0.1:{port}/conversations"
    status = main([*args, "--db", url])
    captured = capsys.readouterr()
    assert status == 2
    assert "cannot reach the conversation database" in captured.err
    assert f"port={port}" in captured.err and "Check the URL given as --db" in captured.err
    assert "s3cret-pw" not in captured.err + captured.out
    assert "Traceback" not in captured.err
