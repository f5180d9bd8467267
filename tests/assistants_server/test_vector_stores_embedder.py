"""Vector stores with an embedder: hybrid search through the server, cancelling a batch while
it is being embedded, and a server SIGKILLed mid-ingestion (the next one redoes the file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import openai
import pytest
import sqlite_vec
from fake_embeddings import FakeEmbeddings
from server_helpers import make_client, sdk_client
from sqlalchemy import create_engine, text

REFUNDS = (
    "Customers may return any item within thirty days of delivery. The refund reaches the "
    "original payment card in five business days."
)
SHIPPING = "Parcels ship from the Lyon warehouse. Express delivery takes two days."


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite (sqlite-vec) and on PostgreSQL (pgvector)."""
    return sqlite_and_postgres_url


@pytest.fixture
def embeddings() -> Iterator[FakeEmbeddings]:
    with FakeEmbeddings(synonyms={"reimbursement": "refund"}) as fake:
        yield fake


def embedder_settings(fake: FakeEmbeddings) -> dict[str, Any]:
    return {
        "backend": "offline",
        "embedding_model": "fake-embed",
        "model_base_url": fake.base_url,
        "model_api_key": "k",
    }


def upload(client: openai.OpenAI, filename: str, content: str) -> str:
    return client.files.create(file=(filename, content.encode()), purpose="assistants").id


def wait_until(check: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def chunk_counts(database_url: str, file_id: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        total, positions = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT position) FROM retrieval_chunks "
                "WHERE file_id = :f"
            ),
            {"f": file_id},
        ).one()
    engine.dispose()
    return int(total), int(positions)


def vector_count(database_url: str) -> int:
    """Vectors stored: pgvector's table on PostgreSQL, the sqlite-vec file beside SQLite."""
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        with engine.connect() as conn:
            count = int(conn.execute(text("SELECT count(*) FROM retrieval_vectors")).scalar_one())
        engine.dispose()
        return count
    path = database_url.removeprefix("sqlite:///") + ".vectors"
    connection = apsw.Connection(path)
    connection.enable_load_extension(True)
    connection.load_extension(sqlite_vec.loadable_path())
    try:
        return int(next(connection.execute("SELECT count(*) FROM chunk_vectors_256"))[0])
    finally:
        connection.close()


def test_hybrid_search_finds_a_passage_by_meaning(
    start_server: Any, embeddings: FakeEmbeddings
) -> None:
    """With an embedding model set, a query sharing no word with the answer still finds it."""
    client = make_client(start_server(**embedder_settings(embeddings)))
    files = [upload(client, "refunds.txt", REFUNDS), upload(client, "shipping.txt", SHIPPING)]
    store = client.vector_stores.create()
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=files, poll_interval_ms=20
    )
    assert batch.file_counts.completed == 2
    found = client.vector_stores.search(store.id, query="reimbursement")
    assert found.data[0].file_id == files[0]
    assert any(request["model"] == "fake-embed" for request in embeddings.requests)
    usage = client.vector_stores.retrieve(store.id).usage_bytes
    assert usage >= len(REFUNDS) + len(SHIPPING) + 2 * 256 * 4  # text and float32 vectors


def test_cancelling_a_batch_mid_embedding_leaves_nothing_indexed(
    start_server: Any, embeddings: FakeEmbeddings, database_url: str
) -> None:
    """A batch cancelled while its first file is being embedded ends cancelled, every file
    cancelled, and none of their chunks stays searchable or stored."""
    client = make_client(start_server(**embedder_settings(embeddings)))
    files = [upload(client, "refunds.txt", REFUNDS), upload(client, "shipping.txt", SHIPPING)]
    store = client.vector_stores.create()
    embeddings.hold()
    batch = client.vector_stores.file_batches.create(vector_store_id=store.id, file_ids=files)
    assert embeddings.arrived.wait(30)
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"
    assert cancelled.file_counts.cancelled == 2
    embeddings.release()
    wait_until(lambda: chunk_counts(database_url, files[0])[0] == 0)
    time.sleep(0.3)  # the worker finished the held file: it must not have revived it
    statuses = {
        item.id: item.status
        for item in client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    }
    assert statuses == {files[0]: "cancelled", files[1]: "cancelled"}
    assert client.vector_stores.search(store.id, query="refund").data == []
    assert chunk_counts(database_url, files[0]) == (0, 0)


def _serve(
    database_url: str, fake: FakeEmbeddings, home: Path
) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "ASSISTANT_GRAPH_HOME": str(home),
        "ASSISTANTS_SERVER_EMBEDDING_MODEL": "fake-embed",
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_API_KEY": "k",
    }
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "assistant_graph.assistants_server.cli", "--port", "0",
            "--database-url", database_url, "--backend", "offline", "--log-level", "warning",
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
        raise AssertionError(f"server did not start: {line!r}")
    return proc, line.split("listening on ", 1)[1].split(" ", 1)[0]


@pytest.mark.slow
def test_server_killed_mid_ingestion_is_redone_by_the_next_server(
    tmp_path: Path, start_server: Any, embeddings: FakeEmbeddings, database_url: str
) -> None:
    """SIGKILL while a file's chunks are written but not embedded: the file is not completed;
    the next server indexes it again from scratch (no duplicate chunks, one vector each)."""
    body = " ".join([REFUNDS] * 60)  # several chunks
    proc, url = _serve(database_url, embeddings, tmp_path / "home")
    try:
        client = sdk_client(url, "k")
        file_id = upload(client, "refunds.txt", body)
        embeddings.hold()
        store = client.vector_stores.create(file_ids=[file_id])
        assert embeddings.arrived.wait(30)
        total, positions = chunk_counts(database_url, file_id)
        assert total > 0 and total == positions  # chunks written, vectors pending
        assert client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status == (
            "in_progress"
        )
        client.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    embeddings.release()
    client = make_client(start_server(**embedder_settings(embeddings)))
    wait_until(
        lambda: client.vector_stores.files.retrieve(file_id, vector_store_id=store.id).status
        != "in_progress"
    )
    done = client.vector_stores.files.retrieve(file_id, vector_store_id=store.id)
    assert done.status == "completed" and done.last_error is None
    total_after, positions_after = chunk_counts(database_url, file_id)
    assert total_after == positions_after == total
    assert vector_count(database_url) == total_after
    found = client.vector_stores.search(store.id, query="reimbursement", max_num_results=50)
    assert len(found.data) == total_after
    assert found.data[0].file_id == file_id
