"""``assistant-graph`` for scripts: --version, the question on stdin, --json, threads
delete/export with time zones, and logs on stderr. Every command is a real subprocess with
its data dir in tmp; the model is the offline one (scripted where a test needs it) or
``FakeChatCompletions``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
from cli_process import run_cli, thread_of, write_script
from fake_chat_completions import FakeChatCompletions

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING) ", re.MULTILINE)


@pytest.fixture
def cli_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["ASSISTANT_GRAPH_HOME"] = str(tmp_path / "home")
    env.pop("ASSISTANTS_SERVER_LOG_LEVEL", None)
    return env


def test_version_prints_the_installed_version(cli_env):
    """``--version`` prints the package's installed version on stdout and exits 0."""
    result = run_cli(["--version"], cli_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"assistant-graph {version('assistant-graph')}"


@pytest.mark.slow
def test_question_from_a_pipe_and_from_dash(cli_env):
    """``echo q | ask`` and ``ask -`` read the question from standard input."""
    piped = run_cli(["ask"], cli_env, input="What's 2 + 3?\n")
    assert piped.returncode == 0, piped.stderr
    assert "2 + 3 = 5" in piped.stdout
    dash = run_cli(["ask", "-"], cli_env, input="What's 6 * 7?")
    assert dash.returncode == 0, dash.stderr
    assert "6 * 7 = 42" in dash.stdout


@pytest.mark.slow
def test_a_question_longer_than_argv_allows_goes_through_stdin(cli_env):
    """A 200 KiB question (argv caps one argument at 128 KiB) is sent whole from stdin; the
    export shows it saved unchanged."""
    question = "Please read this. " + "x" * (200 * 1024)
    result = run_cli(["ask", "-"], cli_env, input=question)
    assert result.returncode == 0, result.stderr
    exported = run_cli(["threads", "export", thread_of(result.stdout)], cli_env)
    assert exported.returncode == 0, exported.stderr
    first = json.loads(exported.stdout)["messages"][0]
    assert first["role"] == "user"
    assert first["content"] == question


@pytest.mark.slow
def test_empty_piped_question_is_a_usage_error(cli_env):
    """An empty pipe is an empty message: exit 2 with the message saying what to send."""
    result = run_cli(["ask"], cli_env, input="  \n")
    assert result.returncode == 2
    assert "the message is empty" in result.stderr


@pytest.mark.slow
def test_json_prints_one_object_with_answer_tool_calls_thread_and_status(cli_env):
    """``ask --json`` prints exactly one JSON object: the answer, each tool call with its
    output, the thread id (listed by ``threads``) and the run status; nothing else on stdout."""
    result = run_cli(["ask", "--json", "What's 2 + 3?"], cli_env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    assert document["answer"] == "2 + 3 = 5"
    assert document["error"] is None
    [call] = document["tool_calls"]
    assert (call["name"], call["args"], call["output"], call["status"]) == (
        "calculator",
        {"expression": "2 + 3"},
        "5",
        "success",
    )
    listing = run_cli(["threads"], cli_env)
    assert document["thread_id"] in listing.stdout


@pytest.mark.slow
def test_json_of_a_failed_run_has_its_status_and_error(cli_env, tmp_path):
    """A run that ends ``failed``: exit 1, and the JSON object says so with the run's error."""
    script = write_script(
        tmp_path, [{"match": "^explode", "turns": [{"error": {"message": "boom"}}]}]
    )
    cli_env["ASSISTANTS_SERVER_OFFLINE_SCRIPT"] = str(script)
    result = run_cli(["ask", "--json", "explode now"], cli_env)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    assert document["answer"] is None
    assert "boom" in document["error"]


@pytest.mark.slow
def test_json_refuses_tool_review(cli_env):
    """``--json`` with ASSISTANT_INTERRUPT_BEFORE_TOOLS on: exit 2 before any turn, saying why."""
    cli_env["ASSISTANT_INTERRUPT_BEFORE_TOOLS"] = "true"
    result = run_cli(["ask", "--json", "What's 2 + 3?"], cli_env)
    assert result.returncode == 2
    assert "cannot ask for tool reviews" in result.stderr
    assert result.stdout == ""


def _updated(listing: str, thread: str) -> datetime:
    row = next(line for line in listing.splitlines() if line.startswith(thread))
    stamp = re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", row)
    assert stamp, row
    return datetime.strptime(stamp.group(0), "%Y-%m-%d %H:%M:%S %z")


@pytest.mark.slow
def test_threads_times_carry_the_time_zone_then_delete_and_export(cli_env):
    """``threads`` shows the last update in the local time zone with its offset (the same
    instant under two zones); ``export`` prints the conversation as JSON; ``delete`` removes it,
    and a second delete or an export of it is a usage error (exit 2)."""
    asked = run_cli(["ask", "What's 2 + 3?"], cli_env)
    assert asked.returncode == 0, asked.stderr
    thread = thread_of(asked.stdout)

    utc = _updated(run_cli(["threads"], {**cli_env, "TZ": "UTC"}).stdout, thread)
    india = _updated(run_cli(["threads"], {**cli_env, "TZ": "Asia/Kolkata"}).stdout, thread)
    assert utc.utcoffset() == timedelta(0)
    assert india.utcoffset() == timedelta(hours=5, minutes=30)
    assert utc == india

    exported = run_cli(["threads", "export", thread], cli_env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert document["thread_id"] == thread
    roles = [m["role"] for m in document["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert document["messages"][1]["tool_calls"][0]["name"] == "calculator"
    assert document["messages"][2]["content"] == "5"
    assert document["messages"][3]["content"] == "2 + 3 = 5"

    deleted = run_cli(["threads", "delete", thread], cli_env)
    assert deleted.returncode == 0, deleted.stderr
    assert thread not in run_cli(["threads"], cli_env).stdout
    for args in (["threads", "delete", thread], ["threads", "export", thread]):
        again = run_cli(args, cli_env)
        assert again.returncode == 2, args
        assert f"Unknown thread {thread!r}" in again.stderr
        assert "Traceback" not in again.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "variable"),
    [([], "debug"), (["--log-level", "debug"], None), (["--verbose"], None)],
)
def test_logs_go_to_stderr_without_the_model_key(args, variable, cli_env):
    """``ASSISTANTS_SERVER_LOG_LEVEL=debug``, ``--log-level debug`` and ``--verbose`` print
    the graph's and the embedded server's logs on stderr (stdout keeps only the answer); the
    model's API key appears in no log line."""
    secret = "sk-model-key-0123456789abcdef"
    with FakeChatCompletions(api_key=secret) as fake:
        fake.add_text("Logged answer.")
        cli_env.update(OPENAI_BASE_URL=fake.base_url, OPENAI_API_KEY=secret)
        if variable:
            cli_env["ASSISTANTS_SERVER_LOG_LEVEL"] = variable
        result = run_cli([*args, "ask", "hello"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "Logged answer." in result.stdout
    assert not LOG_LINE.search(result.stdout)
    assert LOG_LINE.search(result.stderr), result.stderr
    assert "Uvicorn running on http://127.0.0.1:" in result.stderr
    if args != ["--verbose"]:
        assert " DEBUG " in result.stderr
    assert secret not in result.stderr
    assert secret[-8:] not in result.stderr


@pytest.mark.slow
def test_no_logs_without_a_level_and_a_bad_level_names_the_variable(cli_env):
    """Without a level nothing but the answer is printed; an unknown
    ``ASSISTANTS_SERVER_LOG_LEVEL`` is a usage error naming the variable."""
    quiet = run_cli(["ask", "What's 2 + 3?"], cli_env)
    assert quiet.returncode == 0, quiet.stderr
    assert not LOG_LINE.search(quiet.stderr), quiet.stderr
    cli_env["ASSISTANTS_SERVER_LOG_LEVEL"] = "loud"
    bad = run_cli(["threads"], cli_env)
    assert bad.returncode == 2
    assert "ASSISTANTS_SERVER_LOG_LEVEL is 'loud'" in bad.stderr
