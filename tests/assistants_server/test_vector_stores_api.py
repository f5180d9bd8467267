"""Vector stores through the stock openai SDK over HTTP: indexing, search, statuses, errors."""

from __future__ import annotations

import re
import time
from typing import Any

import openai
import pytest
from documents import docx_with_text, pdf_with_text
from openapi_contract import Contract
from server_helpers import make_client
from sqlalchemy import create_engine, text


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


REFUNDS = (
    "# Refunds\n\nCustomers may return any item within thirty days of delivery. The refund "
    "reaches the original payment card in five business days."
)
SHIPPING = "Parcels ship from the Lyon warehouse. Express delivery takes two days."
WARRANTY = ["Every kettle carries a warranty of 24 months.", "Repairs are free within it."]


def upload(client: openai.OpenAI, filename: str, content: bytes) -> str:
    return client.files.create(file=(filename, content), purpose="assistants").id


def body(raw: Any) -> Any:
    return raw.http_response.json()


@pytest.fixture
def docs(client: openai.OpenAI) -> dict[str, str]:
    """Three files of three formats: Markdown, PDF and DOCX."""
    return {
        "refunds": upload(client, "refunds.md", REFUNDS.encode()),
        "warranty": upload(client, "warranty.pdf", pdf_with_text(WARRANTY)),
        "shipping": upload(client, "shipping.docx", docx_with_text([SHIPPING])),
    }


def test_batch_create_and_poll_indexes_files_and_search_ranks_the_answer_first(
    client: openai.OpenAI, docs: dict[str, str], contract: Contract
) -> None:
    """create_and_poll ends with every file completed; search puts the answer passage first."""
    raw_store = client.vector_stores.with_raw_response.create(
        name="help", metadata={"team": "support"}
    )
    contract.check("VectorStoreObject", body(raw_store))
    store = raw_store.parse()
    batch = client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=list(docs.values()), poll_interval_ms=20
    )
    assert batch.status == "completed"
    assert batch.file_counts.completed == 3 and batch.file_counts.total == 3
    contract.check(
        "VectorStoreFileBatchObject",
        body(client.vector_stores.file_batches.with_raw_response.retrieve(
            batch.id, vector_store_id=store.id)),
    )
    listed = body(client.vector_stores.file_batches.with_raw_response.list_files(
        batch.id, vector_store_id=store.id))
    contract.check("ListVectorStoreFilesResponse", listed)
    assert {item["status"] for item in listed["data"]} == {"completed"}

    raw = client.vector_stores.with_raw_response.search(
        store.id, query="How long is the kettle warranty?"
    )
    contract.check("VectorStoreSearchResultsPage", body(raw))
    results = raw.parse()
    assert results.data[0].file_id == docs["warranty"]
    assert results.data[0].filename == "warranty.pdf"
    assert "24 months" in results.data[0].content[0].text
    first = client.vector_stores.search(store.id, query="which warehouse ships parcels")
    assert first.data[0].file_id == docs["shipping"]

    raw_current = client.vector_stores.with_raw_response.retrieve(store.id)
    contract.check("VectorStoreObject", body(raw_current))
    current = raw_current.parse()
    assert current.status == "completed"
    assert current.file_counts.completed == 3
    assert current.usage_bytes >= len(REFUNDS) + len(SHIPPING)
    assert current.metadata == {"team": "support"}


def test_files_that_cannot_be_indexed_fail_with_a_last_error(
    client: openai.OpenAI, contract: Contract
) -> None:
    """Blank text, a text-less PDF, a damaged PDF and an image end failed, saying why."""
    bad = {
        upload(client, "blank.txt", b"  \n\n "): ("invalid_file", "is empty"),
        upload(client, "scan.pdf", pdf_with_text([])): ("invalid_file", "No text"),
        upload(client, "broken.pdf", b"%PDF-1.4 garbage"): ("invalid_file", "could not be read"),
        upload(client, "photo.png", b"\x89PNG\r\n\x1a\n0000"): ("unsupported_file", "not a"),
    }
    good = upload(client, "refunds.md", REFUNDS.encode())
    store = client.vector_stores.create(file_ids=[*bad, good])
    deadline = time.monotonic() + 30
    while client.vector_stores.retrieve(store.id).file_counts.in_progress:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.failed, counts.completed, counts.total) == (4, 1, 5)
    failed = client.vector_stores.files.list(store.id, filter="failed")
    assert {item.id for item in failed} == set(bad)
    contract.check(
        "ListVectorStoreFilesResponse",
        body(client.vector_stores.files.with_raw_response.list(store.id, filter="failed")),
    )
    for item in failed:
        code, words = bad[item.id]
        assert item.last_error is not None
        assert item.last_error.code == code and words in item.last_error.message
        assert item.usage_bytes == 0
    completed = client.vector_stores.files.list(store.id, filter="completed")
    assert [item.id for item in completed] == [good]


def test_empty_uploads_never_reach_a_vector_store(client: openai.OpenAI) -> None:
    """A 0-byte file (a 0-byte PDF too) is refused at upload, so it cannot be indexed."""
    for name in ("empty.pdf", "empty.txt"):
        with pytest.raises(openai.BadRequestError, match="empty"):
            upload(client, name, b"")


def test_unknown_ids_get_clear_errors(client: openai.OpenAI, docs: dict[str, str]) -> None:
    """Unknown vector stores, files and batches: 404 or 400 naming the id."""
    with pytest.raises(openai.NotFoundError, match="vs_missing"):
        client.vector_stores.retrieve("vs_missing")
    with pytest.raises(openai.BadRequestError, match="file-missing"):
        client.vector_stores.create(file_ids=["file-missing"])
    assert list(client.vector_stores.list()) == []  # nothing half-created
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError, match="file-missing"):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file-missing")
    with pytest.raises(openai.NotFoundError, match=docs["refunds"]):
        client.vector_stores.files.retrieve(docs["refunds"], vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError, match="vsfb_missing"):
        client.vector_stores.file_batches.retrieve("vsfb_missing", vector_store_id=store.id)
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.search("vs_missing", query="refund")


@pytest.mark.parametrize(
    ("strategy", "words"),
    [
        ({"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
         "from 100 to 4096"),
        ({"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}},
         "from 100 to 4096"),
        ({"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}},
         "half of max_chunk_size_tokens (100)"),
    ],
)
def test_chunking_out_of_bounds_is_a_400(
    client: openai.OpenAI, docs: dict[str, str], strategy: Any, words: str
) -> None:
    """Static chunking outside the spec's bounds is refused before anything is stored."""
    with pytest.raises(openai.BadRequestError, match=re.escape(words)):
        client.vector_stores.create(file_ids=[docs["refunds"]], chunking_strategy=strategy)
    store = client.vector_stores.create()
    with pytest.raises(openai.BadRequestError, match=re.escape(words)):
        client.vector_stores.files.create(
            vector_store_id=store.id, file_id=docs["refunds"], chunking_strategy=strategy
        )
    assert client.vector_stores.retrieve(store.id).file_counts.total == 0


def test_static_chunking_is_used_and_reported(client: openai.OpenAI) -> None:
    """A file added with static chunking reports it; its chunks hold at most that many tokens."""
    long_text = " ".join(f"paragraph{i} about refunds" for i in range(2000)).encode()
    file_id = upload(client, "long.txt", long_text)
    store = client.vector_stores.create()
    strategy = {
        "type": "static",
        "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0},
    }
    added = client.vector_stores.files.create_and_poll(
        vector_store_id=store.id, file_id=file_id, chunking_strategy=strategy, poll_interval_ms=20
    )
    assert added.status == "completed"
    assert added.chunking_strategy.model_dump() == strategy
    found = client.vector_stores.search(store.id, query="refunds", max_num_results=50)
    assert len(found.data) == 50  # the file became more than 50 chunks
    assert all(len(item.content[0].text.split()) <= 100 for item in found.data)


def test_search_options_filters_and_bad_values(
    client: openai.OpenAI, docs: dict[str, str]
) -> None:
    """max_num_results, score_threshold and attribute filters apply; bad values are 400s."""
    store = client.vector_stores.create()
    for name, team in (("refunds", "billing"), ("shipping", "logistics")):
        client.vector_stores.files.create_and_poll(
            vector_store_id=store.id,
            file_id=docs[name],
            attributes={"team": team},
            poll_interval_ms=20,
        )
    query = "delivery days"
    assert len(client.vector_stores.search(store.id, query=query).data) == 2
    assert len(client.vector_stores.search(store.id, query=query, max_num_results=1).data) == 1
    only = client.vector_stores.search(
        store.id, query=query, filters={"type": "eq", "key": "team", "value": "billing"}
    )
    assert [item.file_id for item in only.data] == [docs["refunds"]]
    assert only.data[0].attributes == {"team": "billing"}
    assert client.vector_stores.search(
        store.id, query=query, ranking_options={"score_threshold": 1.0}
    ).data == []
    updated = client.vector_stores.files.update(
        docs["refunds"], vector_store_id=store.id, attributes={"team": "logistics"}
    )
    assert updated.attributes == {"team": "logistics"}
    assert client.vector_stores.search(
        store.id, query=query, filters={"type": "eq", "key": "team", "value": "billing"}
    ).data == []
    for options, words in (
        ({"max_num_results": 51}, "max_num_results"),
        ({"filters": {"type": "like", "key": "team", "value": "x"}}, "unknown filter type"),
        ({"ranking_options": {"score_threshold": 2}}, "score_threshold"),
    ):
        with pytest.raises(openai.BadRequestError, match=words):
            client.vector_stores.search(store.id, query=query, **options)


def test_deletes_cascade_to_chunks_and_counts(
    client: openai.OpenAI, docs: dict[str, str], contract: Contract
) -> None:
    """Detaching or deleting a file removes its chunks from search and updates the counts."""
    store = client.vector_stores.create(file_ids=[docs["refunds"], docs["shipping"]])
    client.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=[docs["warranty"]], poll_interval_ms=20
    )
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    contract.check(
        "VectorStoreFileObject",
        body(client.vector_stores.files.with_raw_response.retrieve(
            docs["refunds"], vector_store_id=store.id)),
    )
    contract.check(
        "DeleteVectorStoreFileResponse",
        body(client.vector_stores.files.with_raw_response.delete(
            docs["refunds"], vector_store_id=store.id)),
    )
    assert client.vector_stores.search(store.id, query="refund payment card").data == []
    client.files.delete(docs["warranty"])
    assert client.vector_stores.search(store.id, query="kettle warranty").data == []
    current = client.vector_stores.retrieve(store.id)
    assert (current.file_counts.completed, current.file_counts.total) == (1, 1)
    assert [item.id for item in client.vector_stores.files.list(store.id)] == [docs["shipping"]]
    raw_deleted = client.vector_stores.with_raw_response.delete(store.id)
    contract.check("DeleteVectorStoreResponse", body(raw_deleted))
    assert raw_deleted.parse().deleted is True
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)
    assert client.files.retrieve(docs["shipping"]).id == docs["shipping"]  # files stay


def test_expired_vector_store_reads_expired_and_refuses_search(
    client: openai.OpenAI, docs: dict[str, str], database_url: str
) -> None:
    """expires_after sets expires_at from last activity; once past, status is expired and
    search is a 400 saying what to do; removing the expiry brings it back."""
    store = client.vector_stores.create(
        file_ids=[docs["refunds"]], expires_after={"anchor": "last_active_at", "days": 2}
    )
    assert store.expires_at == store.last_active_at + 2 * 86400
    engine = create_engine(database_url)  # the clock cannot be moved: move the deadline
    with engine.begin() as conn:
        conn.execute(text("UPDATE vector_stores SET expires_at = :t"), {"t": int(time.time()) - 1})
    engine.dispose()
    assert client.vector_stores.retrieve(store.id).status == "expired"
    with pytest.raises(openai.BadRequestError, match="expired"):
        client.vector_stores.search(store.id, query="refund")
    revived = client.vector_stores.update(store.id, expires_after=None, name="kept")
    assert revived.expires_at is None and revived.name == "kept"
    assert revived.status != "expired"


def test_list_and_modify_vector_stores(client: openai.OpenAI, contract: Contract) -> None:
    """Stores list newest first with pagination; modify changes name and metadata."""
    made = [client.vector_stores.create(name=f"s{i}").id for i in range(3)]
    page = body(client.vector_stores.with_raw_response.list(limit=2))
    contract.check("ListVectorStoresResponse", page)
    assert [item["id"] for item in page["data"]] == made[::-1][:2]
    assert page["has_more"] is True
    modified = client.vector_stores.update(made[0], name="renamed", metadata={"k": "v"})
    assert (modified.name, modified.metadata) == ("renamed", {"k": "v"})


def test_another_api_key_cannot_see_a_vector_store(start_server: Any) -> None:
    """Vector stores belong to the key that made them."""
    server = start_server(api_keys="key-a,key-b")
    owner, other = make_client(server, "key-a"), make_client(server, "key-b")
    store = owner.vector_stores.create(name="private")
    with pytest.raises(openai.NotFoundError):
        other.vector_stores.retrieve(store.id)
    assert list(other.vector_stores.list()) == []


def test_two_servers_on_one_database_index_each_file_once(
    start_server: Any, database_url: str
) -> None:
    """Two live servers sharing a store both run ingestion; each file is indexed by one of them
    (no duplicate chunks) and every file completes."""
    first = make_client(start_server())
    start_server()  # a second server on the same database, with its own ingestion worker
    bodies = [
        f"Document {n}: " + " ".join(f"topic{n} word{i}" for i in range(600)) for n in range(6)
    ]
    ids = [upload(first, f"doc{n}.txt", text.encode()) for n, text in enumerate(bodies)]
    store = first.vector_stores.create()
    batch = first.vector_stores.file_batches.create_and_poll(
        vector_store_id=store.id, file_ids=ids, poll_interval_ms=20
    )
    assert batch.file_counts.completed == 6
    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT file_id, count(*), count(DISTINCT position) FROM retrieval_chunks "
                "GROUP BY file_id"
            )
        ).all()
    engine.dispose()
    assert len(rows) == 6
    assert all(total == positions > 1 for _file, total, positions in rows)
