"""Schema migrations: a store file from before migrations keeps its data, the revisions build
exactly the tables the code defines, concurrent starts take turns, and ``serve`` refuses a
database a newer version migrated."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from assistant_graph.assistants_server import db, migrations
from assistant_graph.assistants_server.backends.base import ModelTurn
from scripted_backend import ScriptedBackend
from server_helpers import make_client, query

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


def test_a_store_file_from_before_migrations_keeps_every_object(
    tmp_path: Path, start_server: Any
) -> None:
    """A SQLite file written by the server before migrations (committed in tests/data) opens,
    is upgraded to the newest revision, and its assistant, thread, messages, run, steps and
    idempotency key are all still there; a new run on its thread works."""
    manifest = json.loads((DATA / "pre_migration.json").read_text())
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "pre_migration.sqlite3", path)
    url = f"sqlite:///{path}"
    assert query(url, "SELECT name FROM sqlite_master WHERE name = 'alembic_version'") == []
    backend = ScriptedBackend()
    backend.add(ModelTurn(text="forty-two"))
    server = start_server(backend=backend, database_url=url)
    client = make_client(server)

    assert client.beta.assistants.retrieve(manifest["assistant_id"]).name == "Keeper"
    thread = client.beta.threads.retrieve(manifest["thread_id"])
    assert thread.metadata == {"topic": "migration"}
    listed = client.beta.threads.messages.list(thread.id, order="asc").data
    assert [[m.id, m.role, m.content[0].text.value] for m in listed] == manifest["messages"]
    run = client.beta.threads.runs.retrieve(manifest["run_id"], thread_id=thread.id)
    assert run.status == manifest["run_status"]
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id).data
    assert [step.id for step in steps] == manifest["step_ids"]
    replay = client.beta.threads.messages.with_raw_response.create(
        thread.id,
        role="user",
        content="What is 6 * 7?",
        extra_headers={"Idempotency-Key": manifest["idempotency_key"]},
    )
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.parse().id == manifest["messages"][0][0]
    new_run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=manifest["assistant_id"], poll_interval_ms=20
    )
    assert new_run.status == "completed"
    assert query(url, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]


def test_the_revisions_build_exactly_the_tables_the_code_defines(database_url: str) -> None:
    """Upgrading an empty database gives the schema of ``db.metadata``: a table or column added
    in ``db.py`` without a revision makes this test fail."""
    db.create_engine_for_url(database_url).dispose()
    engine = sqlalchemy.create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=migrations.COMPARE_OPTIONS)
            differences = compare_metadata(context, db.metadata)
            assert migrations.current(conn) == (migrations.head(),)
    finally:
        engine.dispose()
    assert differences == []


def test_processes_starting_together_upgrade_one_at_a_time(database_url: str) -> None:
    """Four servers opening one new database at once all start; the schema is made once."""
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            db.create_engine_for_url(database_url).dispose()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert query(database_url, "SELECT version_num FROM alembic_version") == [(migrations.head(),)]


def test_serve_refuses_a_database_migrated_by_a_newer_version(database_url: str) -> None:
    """``serve`` on a database at an unknown (newer) revision exits 2 with a message saying to
    upgrade assistant-graph, and changes nothing (PostgreSQL given as a plain ``postgresql://``
    URL, which the server opens with psycopg 3)."""
    db.create_engine_for_url(database_url).dispose()
    engine = sqlalchemy.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    result = subprocess.run(
        [sys.executable, "-m", "assistant_graph.assistants_server.cli", "--port", "0",
         "--database-url", database_url.replace("postgresql+psycopg://", "postgresql://")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "schema revision 9999_future" in result.stderr
    assert "Upgrade assistant-graph" in result.stderr
    assert "listening" not in result.stdout
    assert query(database_url, "SELECT version_num FROM alembic_version") == [("9999_future",)]


def test_revision_0004_can_be_downgraded_and_redone_keeping_the_chunks(database_url: str) -> None:
    """Downgrading to 0003 and starting the server again (how pgvector is added to a database
    upgraded without it) keeps every chunk, and keyword search finds it again."""
    from alembic import command
    from assistant_graph.assistants_server.retrieval.search import search_chunks

    engine = db.create_engine_for_url(database_url)
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.insert(db.vector_store_files).values(
                id="file-1", vector_store_id="vs_1", status="completed", created_at=0, data={}
            )
        )
        conn.execute(
            sqlalchemy.insert(db.retrieval_chunks).values(
                vector_store_id="vs_1", file_id="file-1", position=0, tokens=4,
                text="Parcels ship from Lyon",
            )
        )  # fmt: skip
    with engine.begin() as conn:
        config = migrations.alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        assert migrations.current(conn) == ("0003",)
    engine.dispose()
    engine = db.create_engine_for_url(database_url)
    try:
        with engine.connect() as conn:
            assert migrations.current(conn) == (migrations.head(),)
            found = search_chunks(conn, ["vs_1"], ["shipping parcels"])
    finally:
        engine.dispose()
    assert [result.text for result in found] == ["Parcels ship from Lyon"]
