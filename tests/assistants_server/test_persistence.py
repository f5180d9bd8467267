"""Durability: data survives restarts, a run in flight when its server was SIGKILLed is resumed
by the next server, and two live servers sharing one SQLite file never steal each other's runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn
from scripted_backend import Gate, ScriptedBackend
from server_helpers import CALCULATOR_TOOL, make_client, sdk_client, wait_for_status


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


def _start_cli_server(
    database_url: str, script: Path, env_home: str
) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "ASSISTANT_GRAPH_HOME": env_home}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant_graph.assistants_server.cli",
            "--port",
            "0",
            "--database-url",
            database_url,
            "--backend",
            "offline",
            "--offline-script",
            str(script),
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise AssertionError(
            f"server did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        )
    url = line.split("listening on ", 1)[1].split(" ", 1)[0]
    return proc, url


@pytest.mark.slow
def test_run_in_flight_survives_sigkill(
    tmp_path: Path, database_url: str, start_server: Any
) -> None:
    """A server process killed mid-run: the next server on the same file resumes the run to
    completion."""
    script = tmp_path / "script.json"
    script.write_text(
        json.dumps([{"match": "slow", "turns": [{"text": "slow answer", "latency_ms": 60000}]}])
    )
    proc, url = _start_cli_server(database_url, script, str(tmp_path / "home"))
    try:
        client = sdk_client(url, "x")
        assistant = client.beta.assistants.create(
            model="m", name="durable", tools=[CALCULATOR_TOOL]
        )
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "slow please"}])
        run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
        wait_for_status(client, thread.id, run.id, {"in_progress"})
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    backend = ScriptedBackend(ModelTurn(text="resumed answer"))
    server = start_server(backend=backend)
    client = make_client(server)
    assert client.beta.assistants.retrieve(assistant.id).name == "durable"
    done = wait_for_status(client, thread.id, run.id, {"completed"})
    assert done.status == "completed" and len(backend.requests) == 1
    texts = [
        m.content[0].text.value for m in client.beta.threads.messages.list(thread.id, run_id=run.id)
    ]
    assert texts == ["resumed answer"]


def test_two_live_servers_do_not_steal_runs(start_server: Any) -> None:
    """Server B starting on A's file leaves A's in-progress run alone; A finishes it."""
    gate = Gate(ModelTurn(text="from A"))
    backend_a, backend_b = ScriptedBackend(gate), ScriptedBackend(ModelTurn(text="from B"))
    server_a = start_server(backend=backend_a)
    client_a = make_client(server_a)
    assistant = client_a.beta.assistants.create(model="m")
    thread = client_a.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    run = client_a.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    assert backend_a.call_started.wait(10)
    server_b = start_server(backend=backend_b)
    client_b = make_client(server_b)
    assert client_b.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "in_progress"
    gate.open()
    done = wait_for_status(client_b, thread.id, run.id, {"completed"})
    assert done.status == "completed"
    assert backend_b.requests == [] and len(backend_a.requests) == 1
    texts = [
        m.content[0].text.value
        for m in client_b.beta.threads.messages.list(thread.id, run_id=run.id)
    ]
    assert texts == ["from A"]


def test_data_survives_graceful_restart(start_server: Any, backend: ScriptedBackend) -> None:
    """Objects written by one server are read back by the next on the same SQLite file."""
    first = start_server(backend=backend)
    client = make_client(first)
    assistant = client.beta.assistants.create(model="m", metadata={"k": "v"})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "remember me"}])
    first.stop()
    second = start_server(backend=ScriptedBackend())
    client = make_client(second)
    assert client.beta.assistants.retrieve(assistant.id).metadata == {"k": "v"}
    assert (
        client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "remember me"
    )
