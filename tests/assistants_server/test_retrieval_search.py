"""Indexing and search: BM25 keyword ranking, hybrid with vectors, thresholds, filters."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval import (
    IngestionError,
    Retrieval,
    RetrievalInputError,
    resolve_strategy,
)
from assistant_graph.assistants_server.retrieval.embeddings import Embedder
from assistant_graph.assistants_server.store import Store
from fake_embeddings import FakeEmbeddings
from sqlalchemy import insert, update

DOCUMENTS = {
    "file-refunds": (
        "refunds.md",
        "# Refunds\n\nCustomers may return any item within thirty days of delivery. "
        "The refund reaches the original payment card in five business days.",
        {"team": "billing", "year": 2024, "public": True},
    ),
    "file-shipping": (
        "shipping.txt",
        "Parcels ship from the Lyon warehouse. Express delivery takes two days; "
        "standard delivery takes a week.",
        {"team": "logistics", "year": 2023},
    ),
    "file-security": (
        "security.md",
        "Passwords are hashed with argon2. Sessions expire after twelve hours of inactivity.",
        {"team": "platform", "year": 2025, "public": False},
    ),
}


class Harness:
    """A real store (SQLite file or PostgreSQL database) with a retrieval engine; files are
    added as completed."""

    def __init__(self, url: str, embedder: Embedder | None = None) -> None:
        self.store = Store(url)
        self.retrieval = Retrieval(self.store, embedder)
        self.loop = asyncio.new_event_loop()
        self.run(self.store.open())
        self.run(self.retrieval.open())

    def run(self, awaitable: Any) -> Any:
        return self.loop.run_until_complete(awaitable)

    def add(self, store_id: str, file_id: str, status: str = "completed") -> int:
        filename, body, attributes = DOCUMENTS[file_id]

        def row(conn: Any) -> None:
            conn.execute(
                insert(db.vector_store_files).values(
                    vector_store_id=store_id,
                    id=file_id,
                    filename=filename,
                    status="in_progress",
                    created_at=0,
                    attributes=attributes,
                    data={},
                )
            )

        self.run(self.store.write(row))
        usage = self.run(
            self.retrieval.index_file(
                store_id, file_id, filename, body.encode(), resolve_strategy(None)
            )
        )
        self.set_status(store_id, file_id, status)
        return usage

    def set_status(self, store_id: str, file_id: str, status: str) -> None:
        table = db.vector_store_files

        def change(conn: Any) -> None:
            conn.execute(
                update(table)
                .where(table.c.vector_store_id == store_id, table.c.id == file_id)
                .values(status=status)
            )

        self.run(self.store.write(change))

    def search(self, query: Any, stores: tuple[str, ...] = ("vs_a",), **options: Any) -> list[Any]:
        return self.run(self.retrieval.search(list(stores), query, **options))

    def close(self) -> None:
        self.run(self.retrieval.close())
        self.run(self.store.close())
        self.loop.close()


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite (FTS5, sqlite-vec) and on PostgreSQL (full-text, pgvector)."""
    return sqlite_and_postgres_url


@pytest.fixture
def harness(database_url: str) -> Iterator[Harness]:
    h = Harness(database_url)
    for file_id in DOCUMENTS:
        h.add("vs_a", file_id)
    yield h
    h.close()


def test_keyword_search_ranks_the_answer_passage_first(harness: Harness) -> None:
    """The chunk that answers the question comes first, scored in 0..1, best first."""
    results = harness.search("How many days until my refund arrives on the card?")
    assert results[0].file_id == "file-refunds"
    assert results[0].filename == "refunds.md"
    assert "five business days" in results[0].text
    assert results[0].attributes == {"team": "billing", "year": 2024, "public": True}
    scores = [result.score for result in results]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < score <= 1 for score in scores)


def test_stemming_matches_other_word_forms(harness: Harness) -> None:
    """Porter stemming: 'hashing passwords' finds 'Passwords are hashed'."""
    assert harness.search("hashing password")[0].file_id == "file-security"


def test_max_num_results_and_score_threshold_are_honoured(harness: Harness) -> None:
    """At most max_num_results come back; a threshold drops results scored below it."""
    everything = harness.search("delivery days refund passwords")
    assert len(everything) == 3
    assert len(harness.search("delivery days refund passwords", max_num_results=1)) == 1
    cut = (everything[0].score + everything[-1].score) / 2
    kept = harness.search("delivery days refund passwords", score_threshold=cut)
    assert 0 < len(kept) < 3
    assert all(result.score >= cut for result in kept)
    assert harness.search("delivery", score_threshold=1.0) == []


def test_a_query_list_scores_each_chunk_by_its_best_query(harness: Harness) -> None:
    """A list of queries finds what either query finds."""
    found = {r.file_id for r in harness.search(["argon2", "Lyon warehouse"])}
    assert found == {"file-security", "file-shipping"}


def test_only_completed_files_of_the_searched_stores_are_found(harness: Harness) -> None:
    """Files still in progress, failed ones, and other stores' files are not searched."""
    harness.add("vs_b", "file-shipping")
    harness.set_status("vs_a", "file-shipping", "in_progress")
    assert harness.search("Lyon warehouse") == []
    assert [r.vector_store_id for r in harness.search("Lyon warehouse", ("vs_b",))] == ["vs_b"]
    assert harness.search("Lyon warehouse", ("vs_missing",)) == []


def test_removing_a_file_removes_its_chunks_from_the_keyword_index(harness: Harness) -> None:
    """After remove_file its text is no longer found; re-indexing does not duplicate chunks."""
    harness.run(harness.retrieval.remove_file("vs_a", "file-security"))
    assert harness.search("argon2") == []
    harness.add("vs_b", "file-refunds")
    harness.run(
        harness.retrieval.index_file(
            "vs_b", "file-refunds", "refunds.md", b"thirty days again", resolve_strategy(None)
        )
    )
    assert [r.text for r in harness.search("thirty", ("vs_b",))] == ["thirty days again"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"type": "eq", "key": "team", "value": "billing"}, {"file-refunds"}),
        ({"type": "ne", "key": "team", "value": "billing"}, {"file-shipping", "file-security"}),
        ({"type": "gt", "key": "year", "value": 2023}, {"file-refunds", "file-security"}),
        ({"type": "lte", "key": "year", "value": 2024}, {"file-refunds", "file-shipping"}),
        ({"type": "eq", "key": "public", "value": True}, {"file-refunds"}),
        ({"type": "ne", "key": "public", "value": True}, {"file-shipping", "file-security"}),
        ({"type": "in", "key": "team", "value": ["billing", "platform"]},
         {"file-refunds", "file-security"}),
        ({"type": "nin", "key": "year", "value": [2023, 2025]}, {"file-refunds"}),
        ({"type": "and", "filters": [
            {"type": "gte", "key": "year", "value": 2024},
            {"type": "eq", "key": "public", "value": False}]}, {"file-security"}),
        ({"type": "or", "filters": [
            {"type": "eq", "key": "team", "value": "logistics"},
            {"type": "lt", "key": "year", "value": 2024.5}]}, {"file-shipping", "file-refunds"}),
        ({"type": "eq", "key": "missing", "value": "x"}, set()),
    ],
)
def test_attribute_filters_select_files(
    harness: Harness, filters: dict[str, Any], expected: set[str]
) -> None:
    """Comparison and compound filters restrict results to files whose attributes match."""
    query = "days delivery passwords refund week sessions"
    assert {r.file_id for r in harness.search(query, filters=filters)} == expected


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"filters": {"type": "like", "key": "a", "value": 1}}, "unknown filter type"),
        ({"filters": {"type": "eq", "value": 1}}, "'key' must be a non-empty string"),
        ({"filters": {"type": "in", "key": "a", "value": "x"}}, "needs a list"),
        ({"filters": {"type": "and", "filters": []}}, "non-empty 'filters' list"),
        ({"filters": {"type": "gt", "key": "a", "value": True}}, "not booleans"),
        ({"max_num_results": 0}, "from 1 to 50"),
        ({"max_num_results": 51}, "from 1 to 50"),
        ({"score_threshold": 1.5}, "from 0 to 1"),
    ],
)
def test_bad_search_inputs_are_refused_with_what_to_fix(
    harness: Harness, options: dict[str, Any], words: str
) -> None:
    """Malformed filters and out-of-range options raise RetrievalInputError saying why."""
    with pytest.raises(RetrievalInputError, match=words):
        harness.search("refund", **options)


@pytest.mark.parametrize("query", ["", "   ", [], [""], 3])
def test_empty_queries_are_refused(harness: Harness, query: Any) -> None:
    """A query must be a non-empty string or list of strings."""
    with pytest.raises(RetrievalInputError, match="query must be"):
        harness.search(query)


def test_punctuation_only_query_finds_nothing_instead_of_failing(harness: Harness) -> None:
    """A query with no words (only FTS5 syntax characters) returns no results, no error."""
    assert harness.search('"*" OR ( NEAR') == []


SYNONYMS = {"reimbursement": "refund", "money": "refund"}


def test_hybrid_search_finds_passages_by_meaning_through_the_embedder(database_url: str) -> None:
    """With an embedder, a query sharing no keyword with the passage still finds it."""
    with FakeEmbeddings(synonyms=SYNONYMS) as fake:
        harness = Harness(database_url, Embedder("fake-embed", base_url=fake.base_url, api_key="k"))
        try:
            usage = harness.add("vs_a", "file-refunds")
            harness.add("vs_a", "file-shipping")
            assert usage > len(DOCUMENTS["file-refunds"][1]) + 256 * 4 - 1  # text + vector
            keyword_only = Retrieval(harness.store)
            assert harness.run(keyword_only.search(["vs_a"], "reimbursement")) == []
            results = harness.search("reimbursement")
            assert results[0].file_id == "file-refunds"
            assert 0 < results[0].score <= 1
            assert any(body["model"] == "fake-embed" for body in fake.requests)
            harness.run(harness.retrieval.remove_file("vs_a", "file-refunds"))
            assert [r.file_id for r in harness.search("reimbursement")] != ["file-refunds"]
        finally:
            harness.close()


def test_embedder_failure_leaves_nothing_of_the_file_indexed(database_url: str) -> None:
    """An embeddings endpoint that keeps failing ends in a server_error; no chunk remains."""
    with FakeEmbeddings() as fake:
        embedder = Embedder("fake-embed", base_url=fake.base_url, api_key="k", max_retries=0)
        harness = Harness(database_url, embedder)
        try:
            fake.fail_next = 1
            with pytest.raises(IngestionError) as caught:
                harness.add("vs_a", "file-refunds")
            assert caught.value.code == "server_error"
            assert "ASSISTANTS_SERVER_EMBEDDING_MODEL" in caught.value.message
            harness.set_status("vs_a", "file-refunds", "completed")
            assert Harness.search(harness, "refund") == []
        finally:
            harness.close()


def test_words_in_most_chunks_of_a_large_index_neither_drown_nor_lose_matches(
    database_url: str,
) -> None:
    """In an index of 12,000 chunks where one word is in all of them, the chunk matching the
    rare word ranks first, and a query whose only other word matches one chunk still returns
    as many results as asked (the common word's matches fill the rest)."""
    from assistant_graph.assistants_server.retrieval.chunking import Chunk
    from assistant_graph.assistants_server.retrieval.chunks import insert_chunks

    harness = Harness(database_url)
    try:
        harness.add("vs_a", "file-refunds")
        pieces = [Chunk(f"common filler alpha{i % 3} row{i}", 5, 0, 0) for i in range(12_000)]
        pieces.append(Chunk("common needle", 2, 0, 0))
        harness.run(harness.store.write(insert_chunks, "vs_a", "file-refunds", pieces))
        found = harness.search("needle common", max_num_results=50)
        assert found[0].text == "common needle"
        assert len(found) == 50
        assert all("common" in result.text for result in found)
        third = harness.search("alpha1 common", max_num_results=20)
        assert len(third) == 20
        assert all("alpha1" in result.text for result in third)
    finally:
        harness.close()
