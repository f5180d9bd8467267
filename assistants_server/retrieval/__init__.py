"""Retrieval for vector stores and ``file_search``: parse, chunk, index, search.

- ``parsing``: text out of plain text, Markdown, HTML, JSON, source code, PDF and DOCX files;
- ``tokens`` and ``chunking``: exact ``o200k_base`` token counts, the spec's chunking strategies;
- ``chunks`` and ``search``: chunk rows, FTS5 BM25 keyword ranking fused with vector similarity;
- ``filters``: the spec's attribute filters as SQL;
- ``vectors`` and ``embeddings``: the sqlite-vec index (via apsw) and the ``/v1/embeddings``
  client, used when ``ASSISTANTS_SERVER_EMBEDDING_MODEL`` is set;
- ``service``: :class:`Retrieval`, the engine a server holds (index a file, search);
- ``stores`` and ``ingestion``: vector stores, their files and batches, background indexing.
"""

from assistant_graph.assistants_server.retrieval import stores
from assistant_graph.assistants_server.retrieval.chunking import resolve_strategy
from assistant_graph.assistants_server.retrieval.errors import IngestionError, RetrievalInputError
from assistant_graph.assistants_server.retrieval.search import SearchResult
from assistant_graph.assistants_server.retrieval.service import Retrieval

__all__ = [
    "IngestionError",
    "Retrieval",
    "RetrievalInputError",
    "SearchResult",
    "resolve_strategy",
    "stores",
]
