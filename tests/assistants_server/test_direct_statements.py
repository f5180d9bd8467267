"""The store's prepared statements run straight on the SQLite driver, with SQLAlchemy's results.

Each kind of registered statement is executed both ways on the same database (the direct path
through :class:`DirectConnection`, and SQLAlchemy's own ``Connection.execute``) and the
results must agree: rows (JSON columns decoded), counts, generated keys. A conversation with
tool rounds must execute every statement directly (SQLAlchemy's cursor sees only the BEGINs),
and a transaction that fails after direct writes must leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.direct_statements import (
    DirectConnection,
    DirectStatements,
    direct,
    supports,
)
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.idempotency_claims import UPDATE_KEY
from assistant_graph.assistants_server.store import (
    _ACTIVE_RUNS,
    _BUMP_HISTORY_VERSION,
    _BY_ID,
    _INSERT,
    _LAST_MESSAGE_SEQ,
    _UPDATE_BY_ID,
    _WAITING_TOOL_STEPS,
    Store,
)
from scripted_backend import ScriptedBackend
from server_helpers import keyed_streamed_tool_round, tool_round_assistant
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import ResourceClosedError


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Any]:
    engine = db.create_engine_for_url(f"sqlite:///{tmp_path / 'direct.sqlite3'}")
    yield engine
    engine.dispose()


def _step(seq_hint: str, status: str = "in_progress") -> dict[str, Any]:
    return {
        "id": f"step_{seq_hint}",
        "run_id": "run_1",
        "thread_id": "thread_1",
        "type": "tool_calls",
        "status": status,
        "after_message_seq": 3,
        "created_at": 1_700_000_000,
        "data": {"step_details": {"tool_calls": [{"id": "call_1"}]}, "usage": None, "n": 1.5},
    }


def _both_ways(engine: Any, statement: Any, params: dict[str, Any]) -> tuple[Any, Any]:
    """Run ``statement`` directly and through SQLAlchemy, each in a transaction rolled back."""
    statements = DirectStatements(engine.dialect)
    results = []
    for use_direct in (True, False):
        with engine.connect() as connection, connection.begin() as transaction:
            conn: Any = DirectConnection(connection, statements) if use_direct else connection
            result = conn.execute(statement, params)
            try:
                rows = [tuple(row) for row in result.all()]
            except ResourceClosedError:  # a statement without rows, either way
                rows = None
            results.append((rows, result.rowcount))
            transaction.rollback()
    return results[0], results[1]


def test_sqlite_takes_the_direct_path_and_other_databases_do_not() -> None:
    assert supports(db.create_engine_for_url("sqlite://").dialect)
    statements = DirectStatements(postgresql.dialect())
    assert not statements.enabled
    assert statements.plan(_BY_ID["runs"], {"object_id": "run_1"}) is None


def test_insert_and_select_agree_with_sqlalchemy(engine: Any) -> None:
    statements = DirectStatements(engine.dialect)
    with engine.connect() as connection, connection.begin():
        conn: Any = DirectConnection(connection, statements)
        first = conn.execute(_INSERT["run_steps"], _step("a"))
        second = conn.execute(_INSERT["run_steps"], _step("b"))
        assert second.inserted_primary_key[0] == first.inserted_primary_key[0] + 1
        direct_row = conn.execute(_BY_ID["run_steps"], {"object_id": "step_b"}).first()
        plain_row = connection.execute(_BY_ID["run_steps"], {"object_id": "step_b"}).first()
        assert tuple(direct_row) == tuple(plain_row)
        assert direct_row.data == _step("b")["data"]  # JSON decoded, attribute access
        assert direct_row.seq == second.inserted_primary_key[0]
        assert conn.execute(_BY_ID["run_steps"], {"object_id": "missing"}).first() is None
        # A literal in the statement (status == "in_progress") is bound from the statement.
        waiting = conn.execute(_WAITING_TOOL_STEPS, {"run_id": "run_1"}).all()
        assert [row.id for row in waiting] == ["step_a", "step_b"]
        assert [tuple(r) for r in waiting] == [
            tuple(r) for r in connection.execute(_WAITING_TOOL_STEPS, {"run_id": "run_1"}).all()
        ]
        # An aggregate has no table column: returned as the driver gives it.
        assert conn.execute(_LAST_MESSAGE_SEQ, {"thread_id": "thread_1"}).scalar() is None


def test_updates_agree_with_sqlalchemy(engine: Any) -> None:
    with engine.begin() as connection:
        connection.execute(_INSERT["run_steps"], _step("a"))
        connection.execute(insert(db.threads).values(id="thread_1", created_at=1, data={}))
    # Dynamic SET columns (the parameters' keys), and JSON written through the column type.
    values = {"object_id_": "step_a", "status": "completed", "data": {"k": [1, "é"]}}
    direct_result, plain_result = _both_ways(engine, _UPDATE_BY_ID["run_steps"], values)
    assert direct_result == plain_result == (None, 1)
    # UPDATE ... RETURNING, with a literal in its SET clause.
    direct_result, plain_result = _both_ways(
        engine, _BUMP_HISTORY_VERSION, {"thread_id": "thread_1"}
    )
    # Same rows; the direct count is the rows changed (SQLAlchemy's pysqlite reports 0 here).
    assert direct_result[0] == plain_result[0] == [(1,)]
    assert direct_result[1] == 1
    statements = DirectStatements(engine.dialect)
    with engine.begin() as connection:
        conn: Any = DirectConnection(connection, statements)
        conn.execute(_UPDATE_BY_ID["run_steps"], values)
    with engine.connect() as connection:
        row = connection.execute(_BY_ID["run_steps"], {"object_id": "step_a"}).first()
    assert (row.status, row.data) == ("completed", {"k": [1, "é"]})


def test_statements_that_need_sqlalchemy_fall_back(engine: Any) -> None:
    """Expanding IN parameters and unregistered statements run through SQLAlchemy."""
    statements = DirectStatements(engine.dialect)
    assert statements.plan(_ACTIVE_RUNS, {"thread_id": "thread_1"}) is None
    ad_hoc = select(db.runs).where(db.runs.c.id == "run_1")
    assert statements.plan(ad_hoc, {}) is None
    assert statements.plan(UPDATE_KEY, {"scope_": "s", "key_": "k", "state": "done"}) is not None
    with engine.connect() as connection, connection.begin():
        conn: Any = DirectConnection(connection, statements)
        assert conn.execute(_ACTIVE_RUNS, {"thread_id": "thread_1"}).all() == []


def test_a_registered_statement_with_a_python_side_default_falls_back(engine: Any) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table

    table = Table(
        "with_default",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("name", String, default="unnamed"),
    )
    table.create(engine)
    statement = direct(insert(table))
    statements = DirectStatements(engine.dialect)
    assert statements.plan(statement, {"id": 1}) is None
    with engine.begin() as connection:
        DirectConnection(connection, statements).execute(statement, {"id": 1})
        assert connection.execute(select(table.c.name)).scalar() == "unnamed"
    statement_with_update = direct(update(table).where(table.c.id == bindparam("id_")))
    assert statements.plan(statement_with_update, {"id_": 1, "name": "x"}) is None


def test_a_failed_transaction_keeps_none_of_its_direct_writes(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'rollback.sqlite3'}")

    def write_then_fail() -> None:
        with store.write() as conn:
            conn.execute(_INSERT["run_steps"], _step("a"))
            raise RuntimeError("checks failed after the insert")

    def count() -> int:
        with store.read() as conn:
            return len(conn.execute(select(db.run_steps.c.id)).all())

    import asyncio

    async def scenario() -> int:
        await store.open()
        with pytest.raises(RuntimeError):
            await store.call(write_then_fail)
        result = await store.call(count)
        await store.close()
        return result

    assert asyncio.run(scenario()) == 0


def test_a_keyed_streamed_tool_round_runs_every_statement_directly(
    server: EmbeddedServer, client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """Over HTTP with the SDK: no statement of a run's steps goes through SQLAlchemy's cursor."""
    assistant_id = tool_round_assistant(client, backend)
    executed: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        executed.append(" ".join(statement.split()))

    engine = server.context.store.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        thread_id = keyed_streamed_tool_round(client, assistant_id)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert executed == []
    messages = client.beta.threads.messages.list(thread_id, order="asc")
    assert [m.content[0].text.value for m in messages.data] == ["6*7?", "42"]
