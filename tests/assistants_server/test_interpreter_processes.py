"""Interpreter sessions with several ``serve`` processes on one PostgreSQL database.

A thread's interpreter session lives in the process that executed the run (one kernel per
thread per process). A run is executed by the process it was created or resumed on, so a
thread's next run may land on another process: there the session is started afresh (variables
are gone) and the thread's files are copied in again from the database, where every process
reads them."""

from __future__ import annotations

import json
from pathlib import Path

import openai
from server_helpers import sdk_client, wait_for_status
from test_persistence import _start_cli_server

INTERPRETER = {"type": "code_interpreter"}
FINAL = {"completed", "failed", "requires_action", "incomplete", "expired", "cancelled"}
NOTES = b"the launch code is 1234\n"
RECALL = (
    "import glob\n"
    "(path,) = glob.glob('/mnt/data/file-*')\n"
    "print(globals().get('secret'), open(path).read().strip())"
)
SCRIPT = [
    {
        "match": "remember",
        "turns": [
            {"tool_calls": [{"type": "code_interpreter", "arguments": {"code": "secret = 41"}}]},
            {"text": "Remembered."},
        ],
    },
    {
        "match": "recall",
        "turns": [
            {"tool_calls": [{"type": "code_interpreter", "arguments": {"code": RECALL}}]},
            {"text": "Recalled."},
        ],
    },
]


def _logs(client: openai.OpenAI, thread_id: str, assistant_id: str, question: str) -> str:
    """Ask ``question`` on the thread through ``client``'s process; the interpreter's logs."""
    client.beta.threads.messages.create(thread_id, role="user", content=question)
    run = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    run = wait_for_status(client, thread_id, run.id, FINAL)
    assert run.status == "completed", run.last_error
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc")
    calls = [
        call
        for step in steps.data
        if step.type == "tool_calls"
        for call in step.step_details.tool_calls
        if call.type == "code_interpreter"
    ]
    return "".join(output.logs for output in calls[-1].code_interpreter.outputs)


def test_a_thread_run_on_another_process_gets_a_fresh_session_with_the_thread_files(
    tmp_path: Path, postgres_url: str
) -> None:
    """Process A runs code that sets a variable; A's next run of the thread still sees it.
    The thread's next run on process B starts a new session: the variable is gone, the file
    attached to the thread is there. Back on A, A's session still holds the variable."""
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    procs = [_start_cli_server(url, script, str(tmp_path / name)) for name in ("a", "b")]
    try:
        client_a, client_b = (sdk_client(base_url, "k") for _proc, base_url in procs)
        notes = client_a.files.create(file=("notes.txt", NOTES), purpose="assistants")
        assistant = client_a.beta.assistants.create(model="m", tools=[INTERPRETER])
        thread = client_a.beta.threads.create(
            tool_resources={"code_interpreter": {"file_ids": [notes.id]}}
        )
        assert _logs(client_a, thread.id, assistant.id, "remember a number") == ""
        assert _logs(client_a, thread.id, assistant.id, "recall it") == (
            "41 the launch code is 1234\n"
        )
        assert _logs(client_b, thread.id, assistant.id, "recall it") == (
            "None the launch code is 1234\n"
        )
        assert _logs(client_a, thread.id, assistant.id, "recall it") == (
            "41 the launch code is 1234\n"
        )
    finally:
        for proc, _url in procs:
            proc.kill()
            proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
