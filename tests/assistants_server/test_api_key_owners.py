"""Each configured API key has its own assistants and threads (and, through the thread, its
messages, runs and steps): another key gets 404 for them, and lists only its own.

Driven with the real ``openai`` SDK over HTTP against a server with two keys; the database file
holds a fingerprint of each key, never the key itself.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn
from assistant_graph.assistants_server.embedded import EmbeddedServer
from scripted_backend import ScriptedBackend
from server_helpers import make_client, wait_for_status

KEY_A, KEY_B = "sk-owner-a-0123456789", "sk-owner-b-9876543210"


@pytest.fixture
def two_keys(
    start_server: Callable[..., EmbeddedServer],
) -> tuple[openai.OpenAI, openai.OpenAI, ScriptedBackend]:
    backend = ScriptedBackend()
    server = start_server(backend=backend, api_keys=(KEY_A, KEY_B))
    return make_client(server, api_key=KEY_A), make_client(server, api_key=KEY_B), backend


def _objects_of_a(a: openai.OpenAI, backend: ScriptedBackend) -> tuple[Any, Any, Any, Any]:
    backend.add(ModelTurn(text="answer for A"))
    assistant = a.beta.assistants.create(model="m", name="A's")
    thread = a.beta.threads.create(messages=[{"role": "user", "content": "A's question"}])
    run = a.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(a, thread.id, run.id, {"completed"})
    message = a.beta.threads.messages.list(thread.id).data[0]
    return assistant, thread, run, message


def test_another_key_cannot_read_or_change_an_assistant(two_keys: Any) -> None:
    """Key B gets 404 retrieving, modifying or deleting key A's assistant; A's is unchanged."""
    a, b, backend = two_keys
    assistant, _thread, _run, _message = _objects_of_a(a, backend)
    for attempt in (
        lambda: b.beta.assistants.retrieve(assistant.id),
        lambda: b.beta.assistants.update(assistant.id, name="B's now"),
        lambda: b.beta.assistants.delete(assistant.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert a.beta.assistants.retrieve(assistant.id).name == "A's"
    assert [x.id for x in b.beta.assistants.list()] == []
    assert [x.id for x in a.beta.assistants.list()] == [assistant.id]


def test_another_key_cannot_reach_a_thread_or_what_it_holds(two_keys: Any) -> None:
    """Key B gets 404 for key A's thread, its messages, runs and steps, and cannot run on it."""
    a, b, backend = two_keys
    assistant, thread, run, message = _objects_of_a(a, backend)
    b_assistant = b.beta.assistants.create(model="m")
    threads, messages, runs = b.beta.threads, b.beta.threads.messages, b.beta.threads.runs
    for attempt in (
        lambda: threads.retrieve(thread.id),
        lambda: threads.update(thread.id, metadata={"by": "b"}),
        lambda: threads.delete(thread.id),
        lambda: messages.list(thread.id),
        lambda: messages.create(thread.id, role="user", content="B was here"),
        lambda: messages.retrieve(message.id, thread_id=thread.id),
        lambda: messages.update(message.id, thread_id=thread.id, metadata={"by": "b"}),
        lambda: messages.delete(message.id, thread_id=thread.id),
        lambda: runs.list(thread.id),
        lambda: runs.retrieve(run.id, thread_id=thread.id),
        lambda: runs.cancel(run.id, thread_id=thread.id),
        lambda: runs.steps.list(run.id, thread_id=thread.id),
        lambda: runs.create(thread.id, assistant_id=b_assistant.id),
        lambda: b.beta.threads.create_and_run(assistant_id=assistant.id),
    ):
        with pytest.raises(openai.NotFoundError):
            attempt()
    assert a.beta.threads.retrieve(thread.id).metadata == {}
    assert [m.id for m in a.beta.threads.messages.list(thread.id, order="asc")][-1] == message.id
    assert len(a.beta.threads.runs.list(thread.id).data) == 1
    assert len(backend.requests) == 1, "B started no run"


def test_the_database_holds_a_fingerprint_not_the_key(two_keys: Any, database_url: str) -> None:
    """The owner column is a hash of the API key; the key itself is stored nowhere."""
    a, _b, backend = two_keys
    _objects_of_a(a, backend)
    path = database_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        owners = {row[0] for row in conn.execute("SELECT api_key_hash FROM threads")}
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert len(owners) == 1 and "" not in owners
    assert KEY_A not in dump and KEY_B not in dump
