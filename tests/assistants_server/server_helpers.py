"""Helpers for the assistants server tests: real ``openai`` clients pointed at a test server
(closed after each test by the ``close_sdk_clients`` fixture), a calculator tool definition,
and a run-status waiter."""

from __future__ import annotations

import time
from typing import Any

import openai
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from assistant_graph.assistants_server.embedded import EmbeddedServer

CALCULATOR_TOOL = {
    "type": "function",
    "function": {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    },
}

OPEN_CLIENTS: list[openai.OpenAI] = []
"""Clients made by :func:`sdk_client` during the current test."""


def sdk_client(base_url: str, api_key: str) -> openai.OpenAI:
    """A real SDK client (no retries, so each request is sent once), closed after the test."""
    client = openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    OPEN_CLIENTS.append(client)
    return client


def make_client(server: EmbeddedServer, api_key: str | None = None) -> openai.OpenAI:
    """A real SDK client for ``server``."""
    return sdk_client(server.base_url, api_key if api_key is not None else server.api_key)


def close_open_clients() -> None:
    """Close every client made since the last call."""
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def wait_for_status(
    client: openai.OpenAI, thread_id: str, run_id: str, statuses: set[str], polls: int = 3000
) -> Any:
    """Poll a run (10 ms apart) until its status is in ``statuses``; fail if it never gets there."""
    run = None
    for _ in range(polls):
        run = client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)
        if run.status in statuses:
            return run
        time.sleep(0.01)
    raise AssertionError(f"run stayed {run.status if run else None}, expected one of {statuses}")


def tool_round_assistant(client: openai.OpenAI, backend: Any) -> str:
    """Script ``backend`` to call the calculator once and then answer; return a new assistant.

    The assistant is created with an ``Idempotency-Key``: the first keyed request also purges
    expired keys (once an hour), which the keyed requests that follow then do not.
    """
    backend.add(
        ModelTurn(tool_calls=[ToolCallRequest("calculator", '{"expression": "6*7"}')]),
        ModelTurn(text="42"),
    )
    assistant = client.beta.assistants.create(
        model="m", tools=[CALCULATOR_TOOL], extra_headers={"Idempotency-Key": "warm-up"}
    )
    return assistant.id


def keyed_streamed_tool_round(client: openai.OpenAI, assistant_id: str) -> Any:
    """Stream a new thread's run to its tool call, then stream the submit to the answer.

    Both POSTs carry an ``Idempotency-Key``; the model must be scripted to call a tool once
    and then answer. Returns the thread id.
    """
    with client.beta.threads.create_and_run_stream(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "6*7?"}]},
        extra_headers={"Idempotency-Key": "turn"},
    ) as stream:
        stream.until_done()
    run = stream.current_run
    assert run is not None and run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    with client.beta.threads.runs.submit_tool_outputs_stream(
        run_id=run.id,
        thread_id=run.thread_id,
        tool_outputs=[{"tool_call_id": call.id, "output": "42"}],
        extra_headers={"Idempotency-Key": "submit"},
    ) as submitted:
        submitted.until_done()
    assert submitted.current_run is not None and submitted.current_run.status == "completed"
    return run.thread_id


def stored_rows(database_url: str) -> dict[str, int]:
    """The number of rows in each table of the server's database (read with SQLAlchemy)."""
    import pgvector.sqlalchemy  # noqa: F401  (teaches reflection pgvector's type, on PostgreSQL)
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url)
    try:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            return {
                name: conn.execute(
                    sqlalchemy.select(sqlalchemy.func.count()).select_from(table)
                ).scalar_one()
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one SQL query on the server's database (SQLite or PostgreSQL, via SQLAlchemy)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()
