"""Several ``serve`` processes on one database (SQLite file or PostgreSQL): every run is executed
by exactly one process, an idempotency key holds across processes, and a killed process's run
is taken over by a live one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import openai
import psutil
import pytest
from server_helpers import query, sdk_client, wait_for_status
from test_persistence import _start_cli_server


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


@pytest.fixture
def two_servers(tmp_path: Path, database_url: str) -> Any:
    """Start two ``serve`` processes on one database (killed at teardown); yield their URLs."""
    with _two_servers(tmp_path, database_url) as procs:
        yield procs


@contextmanager
def _two_servers(tmp_path: Path, database_url: str) -> Any:
    procs = []
    try:
        # A answers "slow" after a minute (it is killed first), B after 2 s.
        for name, slow_ms in (("a", 60000), ("b", 2000)):
            script = tmp_path / f"script-{name}.json"
            script.write_text(
                json.dumps([
                    {"match": "slow", "turns": [{"text": f"from {name}", "latency_ms": slow_ms}]},
                    {"match": "", "turns": [{"text": "answer", "latency_ms": 50}]},
                ])
            )  # fmt: skip
            procs.append(_start_cli_server(database_url, script, str(tmp_path / name)))
        yield procs
    finally:
        for proc, _url in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.slow
def test_runs_created_on_two_processes_are_each_executed_once(
    two_servers: Any, database_url: str
) -> None:
    """Twenty runs created at once, half on each process: all complete, each with exactly one
    answer and one step (a run executed twice would write two)."""
    clients = [sdk_client(url, "x") for _proc, url in two_servers]
    assistant = clients[0].beta.assistants.create(model="m")

    def one_run(index: int) -> str:
        client = clients[index % 2]
        run = client.beta.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": f"question {index}"}]},
            poll_interval_ms=20,
        )
        assert run.status == "completed", run.last_error
        return run.id

    with ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(one_run, range(20)))
    assert len(set(run_ids)) == 20
    answers = query(
        database_url,
        "SELECT run_id, COUNT(*) FROM messages WHERE role = 'assistant' GROUP BY run_id",
    )
    assert sorted(answers) == sorted((run_id, 1) for run_id in run_ids)
    steps = query(database_url, "SELECT run_id, COUNT(*) FROM run_steps GROUP BY run_id")
    assert sorted(steps) == sorted((run_id, 1) for run_id in run_ids)


@pytest.mark.slow
def test_an_idempotency_key_sent_to_two_processes_at_once_creates_one_message(
    two_servers: Any, database_url: str
) -> None:
    """The same keyed POST sent to both processes at the same moment, for 15 keys: each key
    creates one message; the other request gets it replayed, or 409 ``idempotency_key_in_use``
    while the first is still being processed and then the replay when it retries (never a
    5xx, never a second message)."""
    clients = [sdk_client(url, "x") for _proc, url in two_servers]
    thread = clients[0].beta.threads.create()

    def post(args: tuple[int, int]) -> str:
        key, index = args
        for _attempt in range(100):
            try:
                return clients[index].beta.threads.messages.create(
                    thread.id, role="user", content=f"m{key}",
                    extra_headers={"Idempotency-Key": f"k{key}"},
                ).id  # fmt: skip
            except openai.ConflictError as exc:
                assert exc.code == "idempotency_key_in_use"
                time.sleep(0.05)
        raise AssertionError(f"key k{key} stayed in use")

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(post, [(key, index) for key in range(15) for index in (0, 1)]))
    assert all(ids[2 * key] == ids[2 * key + 1] for key in range(15))
    assert query(database_url, "SELECT COUNT(*) FROM messages") == [(15,)]


@pytest.mark.slow
def test_a_killed_process_run_is_taken_over_by_the_live_one(two_servers: Any) -> None:
    """Process A is killed while executing a run; process B (alive, same database) notices on
    its heartbeat that A is gone, takes the run over and finishes it with one answer."""
    (proc_a, url_a), (_proc_b, url_b) = two_servers
    client_a, client_b = sdk_client(url_a, "x"), sdk_client(url_b, "x")
    assistant = client_a.beta.assistants.create(model="m")
    thread = client_a.beta.threads.create(messages=[{"role": "user", "content": "slow please"}])
    run = client_a.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(client_a, thread.id, run.id, {"in_progress"})
    proc_a.send_signal(signal.SIGKILL)
    proc_a.wait()
    done = wait_for_status(client_b, thread.id, run.id, {"completed", "failed"})
    assert done.status == "completed"
    texts = [
        m.content[0].text.value
        for m in client_b.beta.threads.messages.list(thread.id, run_id=run.id)
    ]
    assert texts == ["from b"]


def _server_workers(pid: int) -> list[psutil.Process]:
    """The server processes ``serve --workers`` spawned (not multiprocessing's helpers)."""
    return [
        child
        for child in psutil.Process(pid).children()
        if any("spawn_main" in part for part in child.cmdline())
    ]


@pytest.mark.slow
def test_serve_workers_runs_several_processes_on_one_port(
    tmp_path: Path, database_url: str
) -> None:
    """``serve --workers 2`` starts two server processes behind one port; runs sent to it
    complete, each once, and stopping the parent (SIGTERM) stops both."""
    env = {**os.environ, "ASSISTANT_GRAPH_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant_graph.assistants_server.cli", "--port", "0",
         "--database-url", database_url, "--backend", "offline", "--workers", "2",
         "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "2 worker processes" in line, line
        url = line.split("listening on ", 1)[1].split(" ", 1)[0]
        client = sdk_client(url, "x")
        assistant = client.beta.assistants.create(model="m")
        assert len(_server_workers(proc.pid)) == 2

        def one_run(index: int) -> str:
            run = client.beta.threads.create_and_run_poll(
                assistant_id=assistant.id,
                thread={"messages": [{"role": "user", "content": f"hello {index}"}]},
                poll_interval_ms=20,
            )
            assert run.status == "completed", run.last_error
            return run.id

        with ThreadPoolExecutor(4) as pool:
            run_ids = list(pool.map(one_run, range(8)))
        answers = query(
            database_url,
            "SELECT run_id, COUNT(*) FROM messages WHERE role = 'assistant' GROUP BY run_id",
        )
        assert sorted(answers) == sorted((run_id, 1) for run_id in run_ids)
        children = _server_workers(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_stream_on_one_process_shows_the_deltas_another_process_produces(
    tmp_path: Path, postgres_url: str
) -> None:
    """PostgreSQL: a keyed ``stream=true`` run streams from process B, which executes it; the
    same request replayed on process A streams the run too, and A's stream carries the
    message deltas B produces (relayed with LISTEN/NOTIFY), then the completion."""
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)
    with _two_servers(tmp_path, url) as procs:
        client_a, client_b = (sdk_client(server_url, "x") for _proc, server_url in procs)
        assistant = client_b.beta.assistants.create(model="m")
        thread = client_b.beta.threads.create(
            messages=[{"role": "user", "content": "slow please"}]
        )
        key = {"Idempotency-Key": "relayed"}

        def stream_on_b() -> list[str]:
            with client_b.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, extra_headers=key
            ) as stream:
                return [event.event for event in stream]

        with ThreadPoolExecutor(1) as pool:
            on_b = pool.submit(stream_on_b)
            for _ in range(500):
                runs = client_a.beta.threads.runs.list(thread.id).data
                if runs and runs[0].status == "in_progress":
                    break
                time.sleep(0.01)
            with client_a.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, extra_headers=key
            ) as replay:
                on_a = [event.event for event in replay]
                text = "".join(
                    message.content[0].text.value for message in replay.get_final_messages()
                )
            events_b = on_b.result(60)
    assert on_a[0] == "thread.run.in_progress"
    assert "thread.message.delta" in on_a
    assert on_a[-1] == "thread.run.completed"
    assert text == "from b"
    assert "thread.message.delta" in events_b
