"""The ``file_search`` tool: a run's query searched over the vector stores it may read.

A call searches the assistant's ``tool_resources.file_search.vector_store_ids``, the thread's
(which holds the files messages attached for ``file_search``) and the run's own; expired or
deleted stores are left out. Files still being indexed are waited for first (the indexer is
woken; at most ``wait_seconds``). The search is :meth:`Retrieval.search` with the run's
``file_search`` settings (``max_num_results``, default 20; ``ranking_options``). The step
records ``{"ranking_options": {"ranker", "score_threshold"}, "results": [{"file_id",
"file_name", "score", "content": [{"type": "text", "text"}]}]}``; ``content`` is shown only to
requests that ask for it (``include[]``, see :mod:`~assistants_server.store.step_include`).
The model gets the results as numbered passages with citation markers
(:mod:`~assistants_server.backends.file_search_text`); numbers are unique within the run.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.backends.builtin_functions import (
    FILE_SEARCH,
    query_argument,
)
from assistant_graph.assistants_server.backends.file_search_text import (
    NO_FILES,
    Passage,
    format_results,
)
from assistant_graph.assistants_server.retrieval import RetrievalInputError, stores
from assistant_graph.assistants_server.store.errors import InvalidRequest, NotFound
from assistant_graph.assistants_server.store.tool_steps import (
    SavedCall,
    run_citations,
    run_tool_resources,
)
from assistant_graph.assistants_server.worker.server_tools import Saver
from sqlalchemy import Connection, func, select

if TYPE_CHECKING:
    from assistant_graph.assistants_server.retrieval import Retrieval
    from assistant_graph.assistants_server.retrieval.ingestion import IngestionWorker
    from assistant_graph.assistants_server.store import Store

DEFAULT_MAX_RESULTS = 20
"""Results per search when the assistant's tool does not say (upstream's default)."""
WAIT_SECONDS = 60.0
"""How long a call waits at most for its stores' files to be indexed."""
PENDING_LIMIT = 1024
"""Queries and marker counters kept for calls not executed yet (a call whose run was cancelled
before it ran leaves one behind; the oldest are dropped beyond this)."""
BAD_QUERY_OUTPUT = "The search could not run: {error} Call file_search again with a query."


def search_options(tools: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Return the run's ``max_num_results`` and ``ranking_options`` (ranker, score_threshold)."""
    for tool in tools:
        if tool.get("type") == FILE_SEARCH:
            options = tool.get(FILE_SEARCH) or {}
            ranking = options.get("ranking_options") or {}
            return int(options.get("max_num_results") or DEFAULT_MAX_RESULTS), {
                "ranker": ranking.get("ranker") or "auto",
                "score_threshold": float(ranking.get("score_threshold") or 0.0),
            }
    return DEFAULT_MAX_RESULTS, {"ranker": "auto", "score_threshold": 0.0}


def run_store_ids(conn: Connection, run_id: str) -> tuple[str, list[str]]:
    """Return the thread owner and the ids of the vector stores the run may search, in order."""
    _, thread, resources = run_tool_resources(conn, run_id, FILE_SEARCH)
    ids = [store_id for found in resources for store_id in found.get("vector_store_ids") or []]
    return thread.api_key_hash, list(dict.fromkeys(ids))


def _searchable(conn: Connection, run_id: str) -> list[str]:
    """Return the run's stores that exist and have not expired (recording their activity)."""
    owner, ids = run_store_ids(conn, run_id)
    kept = []
    for store_id in ids:
        try:
            stores.searchable_store(conn, owner, store_id)
        except (NotFound, InvalidRequest):
            continue
        kept.append(store_id)
    return kept


def _file_counts(conn: Connection, run_id: str) -> tuple[int, int]:
    """Count the files of the run's stores: in all (not failed), and still indexing."""
    _owner, ids = run_store_ids(conn, run_id)
    if not ids:
        return 0, 0
    files = stores.FILES
    found = conn.execute(
        select(files.c.status, func.count())
        .where(files.c.vector_store_id.in_(ids), files.c.status.in_(("in_progress", "completed")))
        .group_by(files.c.status)
    )
    counts = {status: int(count) for status, count in found}
    return counts.get("in_progress", 0) + counts.get("completed", 0), counts.get("in_progress", 0)


def _bound(pending: dict[str, Any]) -> None:
    while len(pending) > PENDING_LIMIT:
        pending.pop(next(iter(pending)))


class FileSearchTool:
    """Executes ``file_search`` calls with a server's :class:`Retrieval` (see the module)."""

    type = FILE_SEARCH

    def __init__(
        self,
        retrieval: Retrieval,
        ingestion: IngestionWorker | None = None,
        *,
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self.retrieval = retrieval
        self.ingestion = ingestion
        self.wait_seconds = wait_seconds
        self._queries: dict[str, str] = {}
        self._next_number: dict[str, int] = {}

    async def offered(self, store: Store, run: dict[str, Any]) -> bool:
        """Whether the run has files to search (else the model is not offered the tool)."""
        total, _pending = await store.read(_file_counts, run["id"])
        return total > 0

    def new_call(self, call_id: str, request: ToolCallRequest) -> dict[str, Any]:
        """Return the call as its step shows it before it runs: no results yet."""
        self._queries[call_id] = query_argument(request.arguments)
        _bound(self._queries)
        return {"id": call_id, "type": FILE_SEARCH, FILE_SEARCH: {}}

    def output_delta(self, call: dict[str, Any]) -> dict[str, Any]:
        """Return the stored call's ranking options and results, as a step delta carries them."""
        return dict(call[FILE_SEARCH])

    async def _wait_for_indexing(self, store: Store, run_id: str) -> None:
        deadline = time.monotonic() + self.wait_seconds
        while True:
            _total, pending = await store.read(_file_counts, run_id)
            if not pending or time.monotonic() >= deadline:
                return
            if self.ingestion is not None:
                self.ingestion.wake()
            await asyncio.sleep(0.05)

    async def execute(self, store: Store, run: dict[str, Any], call: dict[str, Any]) -> Saver:
        """Search the run's vector stores; return what stores the results."""
        run_id = run["id"]
        query = self._queries.pop(call["id"], "")
        arguments = json.dumps({"query": query})
        max_results, ranking = search_options(run.get("tools") or [])
        await self._wait_for_indexing(store, run_id)
        store_ids = await store.write(_searchable, run_id)
        results: list[Any] = []
        model_output = NO_FILES
        if store_ids:
            try:
                results = await self.retrieval.search(
                    store_ids,
                    query,
                    max_num_results=max_results,
                    score_threshold=ranking["score_threshold"],
                )
            except RetrievalInputError as exc:
                model_output = BAD_QUERY_OUTPUT.format(error=exc)
                store_ids = []
        first = max(len(await store.read(run_citations, run_id)), self._next_number.get(run_id, 0))
        self._next_number[run_id] = first + len(results)
        _bound(self._next_number)
        passages = [Passage(first + i, r.filename, r.score, r.text) for i, r in enumerate(results)]
        if store_ids:
            model_output = format_results(query, passages)
        body = {
            **call,
            FILE_SEARCH: {
                "ranking_options": ranking,
                "results": [
                    {
                        "file_id": r.file_id,
                        "file_name": r.filename,
                        "score": r.score,
                        "content": [{"type": "text", "text": r.text}],
                    }
                    for r in results
                ],
            },
        }
        citations = {str(p.number): r.file_id for p, r in zip(passages, results, strict=True)}

        def save(_conn: Connection, _owner: str) -> SavedCall:
            self._next_number.pop(run_id, None)
            return SavedCall(body, model_output, arguments=arguments, citations=citations)

        return save
