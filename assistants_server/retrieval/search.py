"""Search over indexed chunks: keyword ranking (FTS5 BM25), fused with vector similarity.

On PostgreSQL the keyword candidates come from its full-text search instead
(:mod:`.search_postgres`, ``ts_rank_cd`` scored on 0..1); fusion and thresholds are the same.

:func:`search_chunks` runs in one read transaction. Keyword candidates come from the FTS5 index
(``bm25()``, porter-stemmed terms joined with OR, common stop words and words in more than half
of all chunks dropped, as BM25 gives those no weight); vector candidates
(chunk id and cosine similarity, found in the vector index beforehand) are optional. Both kinds
are scored on 0..1 and fused by a convex combination, so one number both ranks the results and
is what ``score_threshold`` compares against:

- keyword score ``b / (b + 1)`` with ``b = -bm25`` (bm25 grows with matched rare terms);
- vector score: cosine similarity, clipped to 0..1;
- hybrid score: the mean of the two (a chunk absent from one list scores 0 there).

Only chunks of ``completed`` files in the given vector stores that pass the attribute filter
are returned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval import search_postgres
from assistant_graph.assistants_server.retrieval.filters import filter_clause
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    func,
    literal_column,
    select,
    table,
    text,
)

CANDIDATES = 100
"""Candidates taken from each ranking before fusion."""
PRUNE_FROM_CHUNKS = 10_000
"""Below this many chunks in all, every query word is matched (scoring them all is cheap)."""
PREFILTER_FACTOR = 3
"""Without attribute filters, this many times ``CANDIDATES`` best keyword matches are joined
with their files (chunks of files not yet ``completed`` are dropped there)."""
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from has have how i in is it its of on or "
    "that the their there this to was what when where which who why will with you".split()
)
_fts = table(db.CHUNKS_FTS, literal_column("rowid"))


@dataclass(frozen=True)
class SearchResult:
    """One matching chunk and the file it came from."""

    file_id: str
    filename: str
    score: float
    attributes: dict[str, Any]
    text: str
    vector_store_id: str
    chunk_id: int


def _phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def query_words(query: str) -> list[str]:
    """Return the distinct words of ``query``, lower-cased, stop words dropped (unless all are)."""
    words = [word for word in re.findall(r"\w+", query.lower()) if word]
    return list(dict.fromkeys([word for word in words if word not in STOP_WORDS] or words))


def match_expression(words: Sequence[str], vector_store_ids: Sequence[str] = ()) -> str | None:
    """Build the FTS5 query OR-ing ``words`` (``None`` for none), within the given stores."""
    if not words:
        return None
    terms = " OR ".join(_phrase(word) for word in words)
    if not vector_store_ids:
        return f"text : ({terms})"
    stores = " OR ".join(_phrase(store_id) for store_id in dict.fromkeys(vector_store_ids))
    return f"vector_store_id : ({stores}) AND text : ({terms})"


def _match_count(conn: Connection, expression: str) -> int:
    statement = (
        select(func.count())
        .select_from(_fts)
        .where(text(f"{db.CHUNKS_FTS} MATCH :match").bindparams(match=expression))
    )
    return int(conn.execute(statement).scalar() or 0)


def scoring_words(conn: Connection, words: Sequence[str]) -> list[str]:
    """Drop words found in more than half of all chunks, in a large index.

    Nothing is dropped when every word is that common or the index holds fewer than
    ``PRUNE_FROM_CHUNKS`` chunks.

    FTS5's BM25 gives such a word an inverse document frequency of 1e-6 (it clamps the
    negative value), so it cannot change the ranking, but matching it would make FTS5 score
    most chunks. Counting a word's chunks reads its posting list once. When the other words
    match fewer chunks than wanted, the search runs again with every word, so no match is lost.
    """
    if len(words) < 2:
        return list(words)
    total = conn.execute(select(func.count()).select_from(db.retrieval_chunks)).scalar() or 0
    if total < PRUNE_FROM_CHUNKS:
        return list(words)
    kept = [
        word
        for word in words
        if _match_count(conn, match_expression([word]) or "") * 2 <= total
    ]
    return kept or list(words)


def _joined(vector_store_ids: Sequence[str], filters: Any) -> Any:
    chunks, files = db.retrieval_chunks, db.vector_store_files
    join = chunks.join(
        files,
        and_(
            files.c.vector_store_id == chunks.c.vector_store_id,
            files.c.id == chunks.c.file_id,
        ),
    )
    condition = and_(
        chunks.c.vector_store_id.in_(list(vector_store_ids)),
        files.c.status == "completed",
        filter_clause(filters),
    )
    return join, condition


def keyword_candidates(
    conn: Connection,
    vector_store_ids: Sequence[str],
    query: str,
    filters: Any = None,
    limit: int = CANDIDATES,
) -> list[tuple[int, float]]:
    """Best keyword matches: ``(chunk_id, keyword score)``, best first.

    On SQLite the FTS5 index ranks the matches of the given stores first; only the best ones
    are then joined with their files (status, attributes). With an attribute filter every
    match is joined, so a filter never hides a match that ranked low. On PostgreSQL its own
    full-text search ranks them (:mod:`.search_postgres`).
    """
    if not vector_store_ids:
        return []
    words = query_words(query)
    if conn.dialect.name == "postgresql":
        join, condition = _joined(vector_store_ids, filters)
        return search_postgres.keyword_candidates(conn, words, join, condition, limit)
    scoring = scoring_words(conn, words)
    found = _ranked_matches(conn, vector_store_ids, scoring, filters, limit)
    if len(found) < limit and scoring != words:  # room left: add what the common words match
        found = _ranked_matches(conn, vector_store_ids, words, filters, limit)
    return found


def _ranked_matches(
    conn: Connection,
    vector_store_ids: Sequence[str],
    words: Sequence[str],
    filters: Any,
    limit: int,
) -> list[tuple[int, float]]:
    expression = match_expression(words, vector_store_ids)
    if expression is None:
        return []
    rank: ColumnElement[float] = literal_column(f"bm25({db.CHUNKS_FTS}, 1.0, 0.0)")
    ranked: Select[Any, float] = (
        select(literal_column("rowid").label("chunk_id"), rank.label("rank"))
        .select_from(_fts)
        .where(text(f"{db.CHUNKS_FTS} MATCH :match").bindparams(match=expression))
        .order_by(rank)
    )
    if filters is None:
        ranked = ranked.limit(limit * PREFILTER_FACTOR)
    best = ranked.subquery("ranked")
    join, condition = _joined(vector_store_ids, filters)
    statement = (
        select(best.c.chunk_id, best.c.rank)
        .select_from(best.join(join, db.retrieval_chunks.c.id == best.c.chunk_id))
        .where(condition)
        .order_by(best.c.rank)
        .limit(limit)
    )
    found = []
    for chunk_id, bm25 in conn.execute(statement):
        strength = max(0.0, -float(bm25))
        found.append((int(chunk_id), strength / (strength + 1.0)))
    return found


def fuse(
    keyword: Sequence[tuple[int, float]], vector: Sequence[tuple[int, float]] | None
) -> dict[int, float]:
    """Combine keyword and vector scores per chunk (the mean when vectors are searched)."""
    if vector is None:
        return dict(keyword)
    scores: dict[int, float] = {}
    for chunk_id, score in keyword:
        scores[chunk_id] = score / 2
    for chunk_id, similarity in vector:
        scores[chunk_id] = scores.get(chunk_id, 0.0) + min(1.0, max(0.0, similarity)) / 2
    return scores


def search_chunks(
    conn: Connection,
    vector_store_ids: Sequence[str],
    queries: Sequence[str],
    *,
    max_num_results: int = 10,
    score_threshold: float = 0.0,
    filters: Any = None,
    vector_hits: Sequence[Sequence[tuple[int, float]]] | None = None,
) -> list[SearchResult]:
    """Rank chunks for ``queries`` (best score over the queries); ``vector_hits`` per query."""
    scores: dict[int, float] = {}
    for index, query in enumerate(queries):
        keyword = keyword_candidates(conn, vector_store_ids, query, filters)
        fused = fuse(keyword, vector_hits[index] if vector_hits is not None else None)
        for chunk_id, score in fused.items():
            scores[chunk_id] = max(score, scores.get(chunk_id, 0.0))
    ranked = sorted(
        ((chunk_id, score) for chunk_id, score in scores.items() if score >= score_threshold),
        key=lambda item: (-item[1], item[0]),
    )
    if not ranked:
        return []
    rows = _rows(conn, vector_store_ids, [chunk_id for chunk_id, _ in ranked], filters)
    results = [
        SearchResult(score=score, chunk_id=chunk_id, **rows[chunk_id])
        for chunk_id, score in ranked
        if chunk_id in rows  # a vector whose chunk is gone, or filtered out
    ]
    return results[:max_num_results]


def _rows(
    conn: Connection, vector_store_ids: Sequence[str], ids: list[int], filters: Any
) -> dict[int, dict[str, Any]]:
    chunks, files = db.retrieval_chunks, db.vector_store_files
    join, condition = _joined(vector_store_ids, filters)
    statement = (
        select(
            chunks.c.id,
            chunks.c.text,
            chunks.c.vector_store_id,
            files.c.id.label("file_id"),
            files.c.filename,
            files.c.attributes,
        )
        .select_from(join)
        .where(condition, chunks.c.id.in_(ids))
    )
    return {
        row.id: {
            "file_id": row.file_id,
            "filename": row.filename,
            "attributes": row.attributes or {},
            "text": row.text,
            "vector_store_id": row.vector_store_id,
        }
        for row in conn.execute(statement)
    }
