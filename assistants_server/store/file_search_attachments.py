"""Message attachments for ``file_search``: the files go into the thread's own vector store.

As upstream, a message attaching files with the ``file_search`` tool makes them searchable in
its thread: they are added to the thread's vector store (the first of its
``tool_resources.file_search.vector_store_ids``), which is created when the thread has none,
with the default chunking and upstream's expiry (7 days after it was last active). This
happens in the transaction that inserts the message; the files are indexed in the background
(a run's ``file_search`` wakes the indexer and waits for them, see ``worker.file_search``).
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store.queries import get_row, update_by_id
from sqlalchemy import Connection

FILE_SEARCH = "file_search"
THREAD_STORE_EXPIRY = {"anchor": "last_active_at", "days": 7}
"""Upstream's expiry of a vector store made for a thread's attachments."""


def file_search_attachments(message: dict[str, Any]) -> list[str]:
    """Return the ids of the files a message attaches with the ``file_search`` tool, in order."""
    ids = [
        attachment["file_id"]
        for attachment in message.get("attachments") or []
        if any(tool.get("type") == FILE_SEARCH for tool in attachment.get("tools") or [])
    ]
    return list(dict.fromkeys(ids))


def add_to_thread_store(conn: Connection, thread_id: str, file_ids: list[str]) -> str | None:
    """Queue ``file_ids`` in the thread's vector store (made if needed); return its id."""
    if not file_ids:
        return None
    from assistant_graph.assistants_server.retrieval import stores
    from assistant_graph.assistants_server.retrieval.chunking import resolve_strategy

    thread = get_row(conn, db.threads, thread_id)
    owner = thread.api_key_hash
    strategy = resolve_strategy(None)
    resources = dict(thread.data.get("tool_resources") or {})
    existing = list((resources.get(FILE_SEARCH) or {}).get("vector_store_ids") or [])
    if existing:
        store_id = existing[0]
        for file_id in file_ids:
            stores.add_file(conn, owner, store_id, file_id, strategy, None)
        return str(store_id)
    created = stores.create_vector_store(
        conn,
        owner,
        {"name": None, "metadata": {}, "expires_after": dict(THREAD_STORE_EXPIRY)},
        file_ids,
        strategy,
    )
    resources[FILE_SEARCH] = {"vector_store_ids": [created["id"]]}
    update_by_id(
        conn, db.threads, thread_id, {"data": {**thread.data, "tool_resources": resources}}
    )
    return str(created["id"])
