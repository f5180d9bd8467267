"""Each model request sees the thread as it is now, across runs and servers.

A long thread's next run sees the previous answer and the new question after everything
before; deleting, modifying or adding a message (in this process or in another server on the
same SQLite file) is seen by the next run; a database file made by an earlier version (threads
without the ``api_key_hash`` owner column) still opens and runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn
from assistant_graph.assistants_server.embedded import EmbeddedServer
from scripted_backend import ScriptedBackend
from server_helpers import make_client, wait_for_status

PRIOR = 40
"""Messages in the long thread before its first run."""


def _long_thread(client: openai.OpenAI) -> str:
    thread = client.beta.threads.create()
    for index in range(PRIOR):
        client.beta.threads.messages.create(
            thread.id, role="user" if index % 2 == 0 else "assistant", content=f"m{index}"
        )
    return str(thread.id)


def _run(client: openai.OpenAI, thread_id: str, assistant_id: str) -> None:
    run = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    wait_for_status(client, thread_id, run.id, {"completed"})


def _contents(request: Any) -> list[str]:
    """The request's message contents after the system message."""
    return [m["content"] for m in request.messages[1:]]


def test_a_long_threads_next_run_sees_the_answer_and_the_new_question(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any, server: EmbeddedServer
) -> None:
    """The second run's request is the first's messages, then the first answer and the question."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    thread_id = _long_thread(client)
    _run(client, thread_id, assistant.id)
    client.beta.threads.messages.create(thread_id, role="user", content="q2")
    _run(client, thread_id, assistant.id)

    first, second = backend.requests
    assert _contents(second) == [*_contents(first), "a1", "q2"]
    assert len(_contents(second)) == PRIOR + 2


def test_deleting_a_message_between_runs_is_seen_by_the_next_run(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any, server: EmbeddedServer
) -> None:
    """A message deleted after the history was cached is gone from the next request."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    thread_id = _long_thread(client)
    _run(client, thread_id, assistant.id)
    victim = next(m for m in client.beta.threads.messages.list(thread_id) if _text(m) == "m3")
    client.beta.threads.messages.delete(victim.id, thread_id=thread_id)
    _run(client, thread_id, assistant.id)

    first, second = backend.requests
    assert "m3" in _contents(first)
    assert _contents(second) == [c for c in _contents(first) if c != "m3"] + ["a1"]


def test_modifying_an_old_message_keeps_the_next_runs_history_whole(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any, server: EmbeddedServer
) -> None:
    """A metadata change to an old message leaves every message in the next request, in order."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    thread_id = _long_thread(client)
    _run(client, thread_id, assistant.id)
    old = next(m for m in client.beta.threads.messages.list(thread_id) if _text(m) == "m0")
    client.beta.threads.messages.update(old.id, thread_id=thread_id, metadata={"seen": "yes"})
    _run(client, thread_id, assistant.id)

    first, second = backend.requests
    assert _contents(second) == [*_contents(first), "a1"]


def test_creating_a_message_between_runs_is_seen_by_the_next_run(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any, server: EmbeddedServer
) -> None:
    """A message added after the history was cached is in the next request, in order."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    thread_id = _long_thread(client)
    _run(client, thread_id, assistant.id)
    client.beta.threads.messages.create(thread_id, role="user", content="later")
    _run(client, thread_id, assistant.id)

    first, second = backend.requests
    assert _contents(second) == [*_contents(first), "a1", "later"]


def test_a_delete_by_another_server_on_the_same_file_is_seen(
    start_server: Callable[..., EmbeddedServer],
) -> None:
    """Two servers share a SQLite file: a message deleted through one is gone from the other's
    next request, although the other kept the thread's history in memory."""
    backend = ScriptedBackend()
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    first_server = start_server(backend=backend)
    second_server = start_server(backend=ScriptedBackend())
    client, other = make_client(first_server), make_client(second_server)
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
    thread_id = _long_thread(client)
    _run(client, thread_id, assistant.id)
    victim = next(m for m in other.beta.threads.messages.list(thread_id) if _text(m) == "m5")
    other.beta.threads.messages.delete(victim.id, thread_id=thread_id)
    other.beta.threads.messages.create(thread_id, role="user", content="from the other server")
    _run(client, thread_id, assistant.id)

    first, second = backend.requests
    assert "m5" in _contents(first)
    expected = [c for c in _contents(first) if c != "m5"] + ["a1", "from the other server"]
    assert _contents(second) == expected


OLD_THREADS_TABLE = """
CREATE TABLE threads (
    seq INTEGER NOT NULL,
    id VARCHAR(64) NOT NULL,
    created_at BIGINT NOT NULL,
    data JSON NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE (id)
)
"""
"""The ``threads`` table as earlier versions created it (no ``api_key_hash``)."""


def test_a_database_file_from_before_owners_opens_and_runs(
    tmp_path: Path, start_server: Callable[..., EmbeddedServer]
) -> None:
    """A file whose threads table lacks api_key_hash gets the column; its threads run (they
    belong to the server without API keys)."""
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_THREADS_TABLE)
        conn.execute(
            "INSERT INTO threads (id, created_at, data) VALUES (?, ?, ?)",
            ("thread_old", 1700000000, '{"metadata": {}, "tool_resources": {}}'),
        )
    conn.close()
    backend = ScriptedBackend()
    backend.add(ModelTurn(text="still here"))
    server = start_server(backend=backend, database_url=f"sqlite:///{path}")
    client = make_client(server)
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="Be brief.")
    assert client.beta.threads.retrieve("thread_old").id == "thread_old"
    client.beta.threads.messages.create("thread_old", role="user", content="hello again")
    _run(client, "thread_old", assistant.id)

    assert _contents(backend.requests[0]) == ["hello again"]
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(threads)")}
        (owner,) = conn.execute(
            "SELECT api_key_hash FROM threads WHERE id = 'thread_old'"
        ).fetchone()
    conn.close()
    assert "api_key_hash" in columns
    assert owner == ""


def _text(message: Any) -> str:
    return str(message.content[0].text.value)
