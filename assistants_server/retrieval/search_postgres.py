"""Keyword search on PostgreSQL: its own full-text search over ``retrieval_chunks``.

Revision 0004 gives every chunk a stored ``to_tsvector('english', text)`` column with a GIN
index. A query's words (as :func:`~.search.query_words` picks them) become one
``websearch_to_tsquery`` joining them with ``or`` (a chunk matching any word is a candidate,
as with FTS5 on SQLite); the GIN index finds the matches and ``ts_rank`` ranks them, divided
by 1 + the log of the chunk's length and mapped to ``rank / (rank + 1)``, which is already a
score in 0..1, the same shape as SQLite's ``b / (b + 1)``. PostgreSQL's ranking weighs a word
by how often it occurs in the chunk, not by how rare it is in the index (BM25's IDF). The
English configuration stems words (Snowball) and drops its stop words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assistant_graph.assistants_server import db
from sqlalchemy import ColumnElement, Connection, bindparam, func, literal_column, select

TEXT_SEARCH_CONFIG = "english"
"""The text search configuration of revision 0004's ``text_search`` column (must match it)."""
RANK_NORMALIZATION = 1 | 32
"""``ts_rank``'s normalisation: divide by 1 + log(document length) (1), then map the rank to
``rank / (rank + 1)`` (32), a score in 0..1. Measured on the README questions of
``benchmarks/retrieval.py``: recall@5 0.75, MRR 0.71; ``ts_rank_cd`` with 32 gave 0.40 / 0.22
(cover density over an OR query mostly counts occurrences of common words)."""


def keyword_candidates(
    conn: Connection,
    words: Sequence[str],
    join: Any,
    condition: ColumnElement[bool],
    limit: int,
) -> list[tuple[int, float]]:
    """Best matches of ``words`` among the joined chunks: ``(chunk_id, score)``, best first."""
    if not words:
        return []
    column = f"{db.retrieval_chunks.name}.{db.CHUNKS_TEXT_SEARCH}"
    document: ColumnElement[Any] = literal_column(column)
    config: ColumnElement[Any] = literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig")
    query = func.websearch_to_tsquery(config, bindparam("words", " or ".join(words)))
    rank = func.ts_rank(document, query, RANK_NORMALIZATION).label("rank")
    statement = (
        select(db.retrieval_chunks.c.id, rank)
        .select_from(join)
        .where(condition, document.op("@@")(query))
        .order_by(rank.desc(), db.retrieval_chunks.c.id)
        .limit(limit)
    )
    return [(int(chunk_id), float(score)) for chunk_id, score in conn.execute(statement)]
