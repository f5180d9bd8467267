"""Every model request gets prompt objects of its own, and the decoded history a server keeps
between requests only ever holds what was committed.

A backend may change the messages it is given (add a cache hint, trim content): that must not
reach the next request of the same thread or any other thread's prompt. And a transaction that
reads a thread's history and then rolls back leaves nothing in the server's history cache.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn
from assistant_graph.assistants_server.store import Store, history, objects
from scripted_backend import ScriptedBackend
from server_helpers import wait_for_status


def _run(client: openai.OpenAI, thread_id: str, assistant_id: str) -> None:
    run = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    wait_for_status(client, thread_id, run.id, {"completed"})


def test_a_backend_changing_its_prompt_does_not_change_the_next_prompt(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """Messages a backend rewrites in place come back unchanged in the next request."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"), ModelTurn(text="b1"))
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "q1"}])
    other = client.beta.threads.create(messages=[{"role": "user", "content": "q1"}])
    _run(client, thread.id, assistant.id)
    for message in backend.requests[0].messages:
        message["content"] = "changed by the backend"
        message["extra"] = True
    client.beta.threads.messages.create(thread.id, role="user", content="q2")
    _run(client, thread.id, assistant.id)
    _run(client, other.id, assistant.id)

    second, elsewhere = backend.requests[1], backend.requests[2]
    assert [m["content"] for m in second.messages[1:]] == ["q1", "a1", "q2"]
    assert [m["content"] for m in elsewhere.messages[1:]] == ["q1"]
    assert not any("extra" in m for m in (*second.messages, *elsewhere.messages))


def test_a_backend_changing_image_parts_in_place_does_not_change_the_next_prompt(
    client: openai.OpenAI, backend: ScriptedBackend, assistant: Any
) -> None:
    """Image parts a backend edits in place come back as stored in the next request."""
    backend.add(ModelTurn(text="a1"), ModelTurn(text="a2"))
    url = "https://example.com/cat.png"
    content: Any = [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": url}},
    ]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": content}])
    _run(client, thread.id, assistant.id)
    parts = backend.requests[0].messages[1]["content"]
    parts[1]["image_url"]["url"] = "changed by the backend"
    parts.append({"type": "text", "text": "extra"})
    client.beta.threads.messages.create(thread.id, role="user", content="q2")
    _run(client, thread.id, assistant.id)

    assert backend.requests[1].messages[1]["content"] == [
        {"type": "text", "text": "Look:"},
        {"type": "image_url", "image_url": {"url": url, "detail": "auto"}},
    ]


class _RolledBack(Exception):
    """Raised to roll a test transaction back."""


def test_a_rolled_back_read_leaves_the_history_cache_unchanged(tmp_path: Path) -> None:
    """Rows read in a transaction that rolls back are not kept; a committed read keeps them."""

    async def scenario() -> tuple[int, int]:
        store = Store(f"sqlite:///{tmp_path / 'cache.sqlite3'}")
        await store.open()
        try:
            thread = await store.write(
                objects.create_thread, "", {}, [{"role": "user", "content": []}]
            )

            def read_then_fail(conn: Any) -> None:
                history.read_history(conn, thread["id"], cache=store.history)
                raise _RolledBack

            with pytest.raises(_RolledBack):
                await store.write(read_then_fail)
            after_rollback = len(store.history.known(thread["id"]))
            await store.read(history.read_history, thread["id"], None, store.history)
            return after_rollback, len(store.history.known(thread["id"]))
        finally:
            await store.close()

    after_rollback, after_commit = asyncio.run(scenario())
    assert after_rollback == 0
    assert after_commit == 1
