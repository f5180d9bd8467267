"""The retrieval engine of one server: index files into vector stores, search them.

:class:`Retrieval` ties the pieces together: text extraction and chunking (in a worker thread),
chunk rows and their keyword index (through the store), embeddings and the vector index when an
embedder is configured (sqlite-vec beside a SQLite store, pgvector in a PostgreSQL one).
Indexing a file replaces whatever an earlier, interrupted attempt left, so running it again
after a crash is always safe. Marking a vector store file ``completed`` is the caller's job,
after :meth:`Retrieval.index_file` returned: chunks and vectors are then all written.
:meth:`Retrieval.search` is the one search used by ``/vector_stores/{id}/search`` and by runs'
``file_search``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.retrieval import chunks as chunk_rows
from assistant_graph.assistants_server.retrieval.chunking import Chunk, chunk_text
from assistant_graph.assistants_server.retrieval.embeddings import Embedder, create_embedder
from assistant_graph.assistants_server.retrieval.errors import (
    BAD_MAX_RESULTS,
    BAD_QUERY,
    BAD_THRESHOLD,
    NO_TEXT,
    IngestionError,
    RetrievalInputError,
)
from assistant_graph.assistants_server.retrieval.filters import filter_clause
from assistant_graph.assistants_server.retrieval.parsing import extract_text
from assistant_graph.assistants_server.retrieval.search import (
    CANDIDATES,
    SearchResult,
    search_chunks,
)
from assistant_graph.assistants_server.retrieval.vectors import VectorIndex, vector_path_for
from assistant_graph.assistants_server.store import Store

if TYPE_CHECKING:
    from assistant_graph.assistants_server.retrieval.vectors_postgres import PostgresVectorIndex

logger = logging.getLogger(__name__)

NO_VECTOR_INDEX = (
    "File search ranks by keywords only: on SQLite the vector index is a file beside the store, "
    "and this store is in memory (ASSISTANTS_SERVER_DATABASE_URL)."
)
NO_PGVECTOR = (
    "File search ranks by keywords only: this PostgreSQL database has no retrieval_vectors "
    "table, because the pgvector extension was not available (or the role could not create "
    "it) when the server upgraded it to schema revision 0004. Install pgvector on the "
    "PostgreSQL server, then run 'alembic -c <package>/assistants_server/migrations/alembic.ini "
    "-x url=<database URL> downgrade 0003' (chunks are kept) and restart the server."
)
FLOAT_BYTES = 4
"""Bytes per stored vector component (float32)."""


def prepare_chunks(filename: str, content: bytes, strategy: dict[str, Any]) -> list[Chunk]:
    """Extract and chunk a file by its ``static`` strategy; raise :class:`IngestionError`."""
    static = strategy["static"]
    text = extract_text(filename, content)
    pieces = chunk_text(text, static["max_chunk_size_tokens"], static["chunk_overlap_tokens"])
    if not pieces:
        raise IngestionError("invalid_file", NO_TEXT.format(filename=filename, kind="text"))
    return pieces


def check_search(
    query: Any, max_num_results: Any, score_threshold: Any, filters: Any
) -> list[str]:
    """Validate a search's inputs; return its queries. Raise :class:`RetrievalInputError`."""
    queries = [query] if isinstance(query, str) else query
    if (
        not isinstance(queries, list)
        or not queries
        or not all(isinstance(item, str) and item.strip() for item in queries)
    ):
        raise RetrievalInputError(BAD_QUERY, "query")
    if (
        not isinstance(max_num_results, int)
        or isinstance(max_num_results, bool)
        or not 1 <= max_num_results <= 50
    ):
        raise RetrievalInputError(BAD_MAX_RESULTS.format(value=max_num_results), "max_num_results")
    if (
        not isinstance(score_threshold, int | float)
        or isinstance(score_threshold, bool)
        or not 0 <= score_threshold <= 1
    ):
        raise RetrievalInputError(
            BAD_THRESHOLD.format(value=score_threshold), "ranking_options.score_threshold"
        )
    filter_clause(filters)  # raises on a malformed filter
    return queries


class Retrieval:
    """Indexing and search over one store; vectors only when an embedder is configured."""

    def __init__(self, store: Store, embedder: Embedder | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.vectors: VectorIndex | PostgresVectorIndex | None = None

    @classmethod
    def from_settings(cls, store: Store, settings: Any) -> Retrieval:
        """Build the engine a server's settings describe (embedder from ``embedding_model``)."""
        return cls(store, create_embedder(settings))

    async def open(self) -> None:
        """Open the vector index (when there is an embedder).

        A sqlite-vec file beside a SQLite store; pgvector's table in a PostgreSQL one.
        """
        if self.embedder is None or self.vectors is not None:
            return
        if self.store.engine.dialect.name == "postgresql":
            from assistant_graph.assistants_server.retrieval import vectors_postgres

            engine = self.store.engine
            if await asyncio.to_thread(vectors_postgres.has_vector_table, engine):
                self.vectors = vectors_postgres.PostgresVectorIndex(engine)
            else:
                logger.warning(NO_PGVECTOR)
            return
        path = vector_path_for(self.store.url)
        if path is None:
            logger.warning(NO_VECTOR_INDEX)
            return
        self.vectors = await asyncio.to_thread(VectorIndex, path)

    async def close(self) -> None:
        """Close the vector index and the embedder's client."""
        if self.vectors is not None:
            self.vectors.close()
            self.vectors = None
        if self.embedder is not None:
            self.embedder.close()

    async def index_file(
        self,
        vector_store_id: str,
        file_id: str,
        filename: str,
        content: bytes,
        strategy: dict[str, Any],
    ) -> int:
        """Index one file (replacing any earlier attempt); return its ``usage_bytes``.

        Raises :class:`IngestionError` for a file that cannot be indexed; then nothing of it
        stays indexed.
        """
        await self.remove_file(vector_store_id, file_id)
        pieces = await asyncio.to_thread(prepare_chunks, filename, content, strategy)
        ids = await self.store.write(chunk_rows.insert_chunks, vector_store_id, file_id, pieces)
        usage = sum(len(piece.text.encode("utf-8")) for piece in pieces)
        if self.embedder is not None and self.vectors is not None:
            try:
                embeddings = await asyncio.to_thread(
                    self.embedder.embed, [piece.text for piece in pieces]
                )
                await asyncio.to_thread(
                    self.vectors.add, vector_store_id, zip(ids, embeddings, strict=True)
                )
            except BaseException:
                await self.remove_file(vector_store_id, file_id)
                raise
            usage += sum(len(vector) * FLOAT_BYTES for vector in embeddings)
        return usage

    async def remove_file(self, vector_store_id: str, file_id: str) -> None:
        """Delete a file's chunks (then their vectors) from a vector store."""
        ids = await self.store.write(chunk_rows.delete_file_chunks, vector_store_id, file_id)
        if self.vectors is not None and ids:
            await asyncio.to_thread(self.vectors.delete, ids)

    async def forget_vectors(self, chunk_ids: list[int]) -> None:
        """Delete the vectors of chunks already deleted from the store."""
        if self.vectors is not None and chunk_ids:
            await asyncio.to_thread(self.vectors.delete, chunk_ids)

    async def search(
        self,
        vector_store_ids: Sequence[str],
        query: str | list[str],
        *,
        max_num_results: int = 10,
        score_threshold: float = 0.0,
        filters: Any = None,
    ) -> list[SearchResult]:
        """Search vector stores (hybrid with an embedder, keyword otherwise), best first.

        Raises :class:`RetrievalInputError` for bad inputs.
        """
        queries = check_search(query, max_num_results, score_threshold, filters)
        vector_hits = None
        if self.embedder is not None and self.vectors is not None:
            embedder, vectors = self.embedder, self.vectors

            def nearest() -> list[list[tuple[int, float]]]:
                return [
                    vectors.nearest(vector_store_ids, embedding, CANDIDATES)
                    for embedding in embedder.embed(queries)
                ]

            vector_hits = await asyncio.to_thread(nearest)
        return await self.store.read(
            search_chunks,
            vector_store_ids,
            queries,
            max_num_results=max_num_results,
            score_threshold=score_threshold,
            filters=filters,
            vector_hits=vector_hits,
        )
