"""Idempotency-Key replays, API-key authentication, and list pagination through the SDK."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn
from scripted_backend import ScriptedBackend
from server_helpers import make_client, query, wait_for_status


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


def test_same_idempotency_key_creates_one_message(client: openai.OpenAI) -> None:
    """A retried POST with the same key returns the first response; one message is stored."""
    thread = client.beta.threads.create()
    headers = {"Idempotency-Key": "msg-1"}
    first = client.beta.threads.messages.create(
        thread.id, role="user", content="hi", extra_headers=headers
    )
    second = client.beta.threads.messages.create(
        thread.id, role="user", content="hi", extra_headers=headers
    )
    assert first.id == second.id
    assert [m.id for m in client.beta.threads.messages.list(thread.id)] == [first.id]


def test_same_idempotency_key_creates_one_run(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """A retried run creation returns the same run id; one run exists."""
    backend.add(ModelTurn(text="ok"))
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    headers = {"Idempotency-Key": "run-1"}
    first = client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    wait_for_status(client, thread.id, first.id, {"completed"})
    second = client.beta.threads.runs.create(
        thread.id, assistant_id=assistant.id, extra_headers=headers
    )
    assert second.id == first.id
    assert len(client.beta.threads.runs.list(thread.id).data) == 1


def test_idempotency_key_with_different_body_is_rejected(client: openai.OpenAI) -> None:
    """Reusing a key for a different request gets 400 idempotency_key_reused and stores nothing."""
    thread = client.beta.threads.create()
    client.beta.threads.messages.create(
        thread.id, role="user", content="a", extra_headers={"Idempotency-Key": "k"}
    )
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(
            thread.id, role="user", content="b", extra_headers={"Idempotency-Key": "k"}
        )
    assert info.value.code == "idempotency_key_reused"
    assert len(client.beta.threads.messages.list(thread.id).data) == 1


def test_idempotency_keys_are_scoped_per_api_key(start_server: Any) -> None:
    """The same idempotency key under two API keys executes twice."""
    server = start_server(api_keys=("key-a", "key-b"))
    a, b = make_client(server, api_key="key-a"), make_client(server, api_key="key-b")
    headers = {"Idempotency-Key": "same"}
    first = a.beta.assistants.create(model="m", extra_headers=headers)
    second = b.beta.assistants.create(model="m", extra_headers=headers)
    assert first.id != second.id


def test_repeated_streaming_request_streams_the_existing_run(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """A repeated stream=true POST with the same key replays the first run's state
    (not a new run)."""
    backend.add(ModelTurn(text="streamed once"))
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "x"}])
    headers = {"Idempotency-Key": "stream-1"}
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    ) as stream:
        stream.until_done()
    first = stream.current_run
    with client.beta.threads.runs.stream(
        thread_id=thread.id, assistant_id=assistant.id, extra_headers=headers
    ) as again:
        events = [event.event for event in again]
    assert events == ["thread.run.completed"] and again.current_run.id == first.id
    assert len(client.beta.threads.runs.list(thread.id).data) == 1


def test_api_keys_required_when_configured(start_server: Any) -> None:
    """With api_keys set, a missing or wrong key gets 401 invalid_api_key; a right key works."""
    server = start_server(api_keys=("secret-1",))
    with pytest.raises(openai.AuthenticationError) as info:
        make_client(server, api_key="wrong").beta.assistants.list()
    assert info.value.code == "invalid_api_key"
    import httpx

    response = httpx.get(server.base_url + "/assistants")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    assert server.api_key == "secret-1"
    assert make_client(server).beta.assistants.list().data == []


def test_message_pagination(client: openai.OpenAI, backend: ScriptedBackend) -> None:
    """limit/order/after/before/has_more and SDK auto-pagination over many pages; run_id filter."""
    thread = client.beta.threads.create(
        messages=[{"role": "user", "content": f"m{i}"} for i in range(25)]
    )
    page = client.beta.threads.messages.list(thread.id, limit=10, order="asc")
    assert [m.content[0].text.value for m in page.data] == [f"m{i}" for i in range(10)]
    assert page.has_more and page.first_id == page.data[0].id and page.last_id == page.data[-1].id
    everything = [
        m.content[0].text.value
        for m in client.beta.threads.messages.list(thread.id, limit=7, order="asc")
    ]
    assert everything == [f"m{i}" for i in range(25)]
    newest_first = [
        m.content[0].text.value for m in client.beta.threads.messages.list(thread.id, limit=4)
    ]
    assert newest_first == [f"m{i}" for i in reversed(range(25))]
    all_ids = [m.id for m in client.beta.threads.messages.list(thread.id, limit=100, order="asc")]
    after = client.beta.threads.messages.list(thread.id, order="asc", after=all_ids[5], limit=3)
    assert [m.id for m in after.data] == all_ids[6:9]
    before = client.beta.threads.messages.list(thread.id, order="asc", before=all_ids[5], limit=3)
    assert [m.id for m in before.data] == all_ids[2:5] and before.has_more
    last = client.beta.threads.messages.list(thread.id, order="asc", after=all_ids[22], limit=5)
    assert [m.id for m in last.data] == all_ids[23:] and not last.has_more

    backend.add(ModelTurn(text="reply"))
    assistant = client.beta.assistants.create(model="m")
    run = client.beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    wait_for_status(client, thread.id, run.id, {"completed"})
    by_run = client.beta.threads.messages.list(thread.id, run_id=run.id)
    assert [m.content[0].text.value for m in by_run.data] == ["reply"] and not by_run.has_more


def test_assistant_list_pagination(client: openai.OpenAI) -> None:
    """Assistants list pages with after and auto-pagination."""
    ids = [client.beta.assistants.create(model="m", name=f"a{i}").id for i in range(5)]
    assert [a.id for a in client.beta.assistants.list(limit=2, order="asc")] == ids
    assert [a.id for a in client.beta.assistants.list(limit=2)] == list(reversed(ids))


def _stored_keys(database_url: str) -> list[str]:
    """Idempotency keys in the server's database (read directly, outside any event loop)."""
    return sorted(row[0] for row in query(database_url, "SELECT key FROM idempotency_keys"))


def test_idempotency_keys_expire_after_retention(database_url: str, tmp_path: Any) -> None:
    """Keys are remembered for RETENTION_SECONDS (injected clock), then execute anew
    and are purged."""
    from assistant_graph.assistants_server.embedded import EmbeddedServer
    from assistant_graph.assistants_server.idempotency import (
        PURGE_INTERVAL_SECONDS,
        RETENTION_SECONDS,
    )
    from assistant_graph.assistants_server.settings import ServerSettings

    clock = [1_900_000_000.0]
    settings = ServerSettings(port=0, database_url=database_url, log_level="warning")
    with EmbeddedServer(settings, backend=ScriptedBackend(), clock=lambda: clock[0]) as server:
        client = make_client(server)
        thread = client.beta.threads.create()

        def post(key: str) -> str:
            return client.beta.threads.messages.create(
                thread.id, role="user", content="x", extra_headers={"Idempotency-Key": key}
            ).id

        first_a, first_b = post("a"), post("b")
        clock[0] += RETENTION_SECONDS - 1
        assert post("a") == first_a  # still remembered just before the deadline
        assert _stored_keys(database_url) == ["a", "b"]
        clock[0] += 2
        again_b = post("b")
        assert again_b != first_b  # expired: executed as a new request (even before the purge)
        assert post("b") == again_b
        clock[0] += PURGE_INTERVAL_SECONDS
        post("c")  # a keyed request at most once per purge interval deletes expired keys
        assert _stored_keys(database_url) == ["b", "c"]
        assert len(client.beta.threads.messages.list(thread.id).data) == 4
