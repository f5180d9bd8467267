"""Vector stores, their files and file batches: plain store functions over one connection.

Every function takes ``owner`` (the caller's API key fingerprint): a vector store is found only
by the key that created it, and its files and batches only through it. ``file_counts``,
``usage_bytes`` and ``status`` are counted from the files' rows when an object is read, so they
can never disagree with the files. A vector store whose ``expires_at`` has passed reads as
``expired`` and can no longer be searched. Functions that delete chunks return their ids, so
the caller can delete their vectors after the transaction (see ``retrieval.vectors``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.retrieval.chunks import (
    delete_file_chunks,
    delete_store_chunks,
)
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.errors import InvalidRequest
from assistant_graph.assistants_server.store.files import (
    check_files_exist,
    delete_file,
    get_file,
)
from assistant_graph.assistants_server.store.queries import get_row, list_page, update_by_id
from sqlalchemy import Connection, delete, func, insert, select, update

STORES, FILES, BATCHES = db.vector_stores, db.vector_store_files, db.vector_store_file_batches
FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")
DAY_SECONDS = 86_400
EXPIRED_MESSAGE = (
    "Vector store {id} expired at {expires_at}; create a new vector store (or set "
    "expires_after when you create one) to search these files."
)


def _counts(conn: Connection, *conditions: Any) -> tuple[dict[str, int], int]:
    found = conn.execute(
        select(FILES.c.status, func.count(), func.coalesce(func.sum(FILES.c.usage_bytes), 0))
        .where(*conditions)
        .group_by(FILES.c.status)
    )
    counts = dict.fromkeys(FILE_STATUSES, 0)
    usage = 0
    for status, count, used in found:
        counts[status] = int(count)
        usage += int(used)
    return {**counts, "total": sum(counts.values())}, usage


def _expires_at(expires_after: dict[str, Any] | None, last_active_at: int) -> int | None:
    return None if not expires_after else last_active_at + expires_after["days"] * DAY_SECONDS


def _store_object(conn: Connection, row: Any) -> dict[str, Any]:
    counts, usage = _counts(conn, FILES.c.vector_store_id == row.id)
    data = row.data
    if row.expires_at is not None and row.expires_at <= now():
        status = "expired"
    else:
        status = "in_progress" if counts["in_progress"] else "completed"
    body = {
        "id": row.id,
        "object": "vector_store",
        "created_at": row.created_at,
        "name": data.get("name") or "",
        "usage_bytes": usage,
        "file_counts": counts,
        "status": status,
        "last_active_at": data.get("last_active_at"),
        "metadata": data.get("metadata") or {},
        "expires_at": row.expires_at,
    }
    if data.get("expires_after"):
        body["expires_after"] = data["expires_after"]
    return body


def _owned(conn: Connection, owner: str, vector_store_id: str) -> Any:
    return get_row(conn, STORES, vector_store_id, api_key_hash=owner)


def file_object(row: Any) -> dict[str, Any]:
    """Return a ``vector_store.file`` object."""
    return {
        "id": row.id,
        "object": "vector_store.file",
        "usage_bytes": row.usage_bytes,
        "created_at": row.created_at,
        "vector_store_id": row.vector_store_id,
        "status": row.status,
        "last_error": row.data.get("last_error"),
        "chunking_strategy": row.data["chunking_strategy"],
        "attributes": row.attributes or {},
    }


def _batch_object(conn: Connection, row: Any) -> dict[str, Any]:
    counts, _usage = _counts(conn, FILES.c.batch_id == row.id)
    status = row.status
    if status == "in_progress" and not counts["in_progress"]:
        status = "completed" if counts["completed"] or not counts["total"] else "failed"
    return {
        "id": row.id,
        "object": "vector_store.files_batch",
        "created_at": row.created_at,
        "vector_store_id": row.vector_store_id,
        "status": status,
        "file_counts": counts,
    }


def _add_file(
    conn: Connection,
    owner: str,
    vector_store_id: str,
    file_id: str,
    strategy: dict[str, Any],
    attributes: dict[str, Any] | None,
    batch_id: str | None = None,
) -> Any:
    """Attach a file (status ``in_progress``); an attached one is queued again."""
    filename = get_file(conn, owner, file_id)["filename"]
    existing = conn.execute(
        select(FILES.c.seq).where(FILES.c.vector_store_id == vector_store_id, FILES.c.id == file_id)
    ).scalar()
    values = {
        "status": "in_progress",
        "usage_bytes": 0,
        "batch_id": batch_id,
        "attributes": attributes,
        "data": {"chunking_strategy": strategy, "last_error": None},
    }
    if existing is None:
        conn.execute(
            insert(FILES).values(
                id=file_id,
                vector_store_id=vector_store_id,
                filename=filename,
                created_at=now(),
                **values,
            )
        )
    else:
        conn.execute(update(FILES).where(FILES.c.seq == existing).values(**values))
    return _file_row(conn, vector_store_id, file_id)


def _file_row(conn: Connection, vector_store_id: str, file_id: str) -> Any:
    return get_row(conn, FILES, file_id, vector_store_id=vector_store_id)


def touch(conn: Connection, row: Any) -> None:
    """Record activity now (``last_active_at``), moving a ``last_active_at`` expiry along."""
    stamp = now()
    data = {**row.data, "last_active_at": stamp}
    expires_at = _expires_at(data.get("expires_after"), stamp)
    update_by_id(conn, STORES, row.id, {"data": data, "expires_at": expires_at})


# -- vector stores ------------------------------------------------------------------------


def create_vector_store(
    conn: Connection,
    owner: str,
    data: dict[str, Any],
    file_ids: list[str],
    strategy: dict[str, Any],
) -> dict[str, Any]:
    """Create a vector store (``name``, ``metadata``, ``expires_after``) with its first files."""
    check_files_exist(conn, owner, file_ids)
    store_id = new_id("vs")
    stamp = now()
    data = {**data, "last_active_at": stamp}
    conn.execute(
        insert(STORES).values(
            id=store_id,
            api_key_hash=owner,
            created_at=stamp,
            expires_at=_expires_at(data.get("expires_after"), stamp),
            data=data,
        )
    )
    for file_id in dict.fromkeys(file_ids):
        _add_file(conn, owner, store_id, file_id, strategy, None)
    return _store_object(conn, _owned(conn, owner, store_id))


def get_vector_store(conn: Connection, owner: str, vector_store_id: str) -> dict[str, Any]:
    """Return one vector store."""
    return _store_object(conn, _owned(conn, owner, vector_store_id))


def list_vector_stores(conn: Connection, owner: str, **page: Any) -> rows.Page:
    """Return a page of the owner's vector stores."""
    found = list_page(conn, STORES, [STORES.c.api_key_hash == owner], **page)
    return rows.Page(
        [get_vector_store(conn, owner, item["id"]) for item in found.data], found.has_more
    )


def modify_vector_store(
    conn: Connection, owner: str, vector_store_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change ``name``, ``metadata`` or ``expires_after`` (``None`` removes the expiry)."""
    row = _owned(conn, owner, vector_store_id)
    data = {**row.data, **changes}
    values: dict[str, Any] = {"data": data}
    if "expires_after" in changes:
        values["expires_at"] = _expires_at(changes["expires_after"], data["last_active_at"])
    update_by_id(conn, STORES, vector_store_id, values)
    return get_vector_store(conn, owner, vector_store_id)


def delete_vector_store(conn: Connection, owner: str, vector_store_id: str) -> list[int]:
    """Delete a vector store with its files, batches and chunks; return the chunk ids."""
    _owned(conn, owner, vector_store_id)
    for table in (FILES, BATCHES):
        conn.execute(delete(table).where(table.c.vector_store_id == vector_store_id))
    conn.execute(delete(STORES).where(STORES.c.id == vector_store_id))
    return delete_store_chunks(conn, vector_store_id)


def searchable_store(conn: Connection, owner: str, vector_store_id: str) -> None:
    """Check that the owner may search this store now (not expired); record the activity."""
    row = _owned(conn, owner, vector_store_id)
    if row.expires_at is not None and row.expires_at <= now():
        raise InvalidRequest(
            EXPIRED_MESSAGE.format(id=vector_store_id, expires_at=row.expires_at),
            param="vector_store_id",
        )
    touch(conn, row)


# -- files --------------------------------------------------------------------------------


def add_file(
    conn: Connection,
    owner: str,
    vector_store_id: str,
    file_id: str,
    strategy: dict[str, Any],
    attributes: dict[str, Any] | None,
) -> dict[str, Any]:
    """Attach a file to a vector store for indexing; return the vector store file."""
    _owned(conn, owner, vector_store_id)
    check_files_exist(conn, owner, [file_id], ["file_id"])
    return file_object(_add_file(conn, owner, vector_store_id, file_id, strategy, attributes))


def get_store_file(
    conn: Connection, owner: str, vector_store_id: str, file_id: str
) -> dict[str, Any]:
    """Return one vector store file."""
    _owned(conn, owner, vector_store_id)
    return file_object(_file_row(conn, vector_store_id, file_id))


def update_file_attributes(
    conn: Connection, owner: str, vector_store_id: str, file_id: str, attributes: Any
) -> dict[str, Any]:
    """Replace a vector store file's ``attributes``."""
    _owned(conn, owner, vector_store_id)
    row = _file_row(conn, vector_store_id, file_id)
    conn.execute(update(FILES).where(FILES.c.seq == row.seq).values(attributes=attributes))
    return file_object(_file_row(conn, vector_store_id, file_id))


def list_store_files(
    conn: Connection,
    owner: str,
    vector_store_id: str,
    status: str | None = None,
    batch_id: str | None = None,
    **page: Any,
) -> rows.Page:
    """Return a page of a vector store's files (only ``status`` ones, or one batch's)."""
    _owned(conn, owner, vector_store_id)
    conditions = [FILES.c.vector_store_id == vector_store_id]
    if status is not None:
        conditions.append(FILES.c.status == status)
    if batch_id is not None:
        get_row(conn, BATCHES, batch_id, vector_store_id=vector_store_id)
        conditions.append(FILES.c.batch_id == batch_id)
    found = list_page(conn, FILES, conditions, **page)
    return rows.Page(
        [file_object(_file_row(conn, vector_store_id, item["id"])) for item in found.data],
        found.has_more,
    )


def remove_store_file(
    conn: Connection, owner: str, vector_store_id: str, file_id: str
) -> list[int]:
    """Detach a file from a vector store (the file itself stays); return its chunk ids."""
    _owned(conn, owner, vector_store_id)
    row = _file_row(conn, vector_store_id, file_id)
    conn.execute(delete(FILES).where(FILES.c.seq == row.seq))
    return delete_file_chunks(conn, vector_store_id, file_id)


def forget_file(conn: Connection, file_id: str) -> list[int]:
    """Detach a deleted file from every vector store; return its chunk ids (for vectors)."""
    stores = list(conn.scalars(select(FILES.c.vector_store_id).where(FILES.c.id == file_id)))
    conn.execute(delete(FILES).where(FILES.c.id == file_id))
    ids: list[int] = []
    for store_id in stores:
        ids.extend(delete_file_chunks(conn, store_id, file_id))
    return ids


def delete_file_everywhere(
    conn: Connection, owner: str, file_id: str
) -> tuple[dict[str, Any], list[int]]:
    """Delete a file (Files API) and detach it from every vector store, in one transaction.

    Returns the spec's delete object and the ids of the chunks removed (for their vectors).
    """
    deleted = delete_file(conn, owner, file_id)
    return deleted, forget_file(conn, file_id)


# -- batches ------------------------------------------------------------------------------


def create_batch(
    conn: Connection,
    owner: str,
    vector_store_id: str,
    files: list[tuple[str, dict[str, Any], dict[str, Any] | None]],
) -> dict[str, Any]:
    """Attach files ``(file_id, strategy, attributes)`` as one batch; return the batch."""
    _owned(conn, owner, vector_store_id)
    check_files_exist(conn, owner, [file_id for file_id, _, _ in files])
    batch_id = new_id("vsfb")
    conn.execute(
        insert(BATCHES).values(
            id=batch_id,
            vector_store_id=vector_store_id,
            status="in_progress",
            created_at=now(),
            data={},
        )
    )
    for file_id, strategy, attributes in files:
        _add_file(conn, owner, vector_store_id, file_id, strategy, attributes, batch_id)
    return get_batch(conn, owner, vector_store_id, batch_id)


def get_batch(conn: Connection, owner: str, vector_store_id: str, batch_id: str) -> dict[str, Any]:
    """Return one file batch."""
    _owned(conn, owner, vector_store_id)
    return _batch_object(conn, get_row(conn, BATCHES, batch_id, vector_store_id=vector_store_id))


def cancel_batch(
    conn: Connection, owner: str, vector_store_id: str, batch_id: str
) -> tuple[dict[str, Any], list[int]]:
    """Cancel a batch: its files not yet indexed end ``cancelled``; return it and chunk ids."""
    _owned(conn, owner, vector_store_id)
    row = get_row(conn, BATCHES, batch_id, vector_store_id=vector_store_id)
    chunk_ids: list[int] = []
    if _batch_object(conn, row)["status"] == "in_progress":
        pending = list(
            conn.scalars(
                select(FILES.c.id).where(
                    FILES.c.batch_id == batch_id, FILES.c.status == "in_progress"
                )
            )
        )
        conn.execute(
            update(FILES)
            .where(FILES.c.batch_id == batch_id, FILES.c.status == "in_progress")
            .values(status="cancelled")
        )
        for file_id in pending:
            chunk_ids.extend(delete_file_chunks(conn, vector_store_id, file_id))
        conn.execute(update(BATCHES).where(BATCHES.c.id == batch_id).values(status="cancelled"))
    return get_batch(conn, owner, vector_store_id, batch_id), chunk_ids


# -- ingestion ----------------------------------------------------------------------------


def _claimable(claim: dict[str, Any] | None, host: str, alive: Callable[[int], bool]) -> bool:
    if not claim:
        return True
    if claim["until"] <= time.time():
        return True
    return claim["host"] == host and not alive(claim["pid"])


def claim_next(
    conn: Connection,
    pid: int,
    host: str,
    lease_seconds: float,
    alive: Callable[[int], bool],
) -> dict[str, Any] | None:
    """Claim the oldest pending file nobody live is indexing; return what indexing needs.

    A claim names the process (``pid`` on ``host``) and lasts ``lease_seconds``; a claim of a
    dead process on this host, or a lapsed one, can be taken over (a restarted server redoes
    what it was indexing at once).

    Concurrent claimants never take one file twice: on PostgreSQL a candidate is locked
    (``SELECT ... FOR UPDATE SKIP LOCKED``: a file another claimant is locking is skipped) and
    its claim read again under the lock before it is taken; SQLite's write transaction
    (``BEGIN IMMEDIATE``) already runs claimants one at a time.
    """
    candidates = conn.execute(
        select(FILES.c.seq, FILES.c.data)
        .where(FILES.c.status == "in_progress")
        .order_by(FILES.c.seq)
    ).all()
    row = None
    for candidate in candidates:
        if not _claimable(candidate.data.get("claim"), host, alive):
            continue
        row = conn.execute(
            select(FILES, STORES.c.api_key_hash)
            .join(STORES, STORES.c.id == FILES.c.vector_store_id)
            .where(FILES.c.seq == candidate.seq, FILES.c.status == "in_progress")
            .with_for_update(of=FILES, skip_locked=True)
        ).first()
        if row is not None and _claimable(row.data.get("claim"), host, alive):
            break
        row = None
    if row is None:
        return None
    claim = {"pid": pid, "host": host, "until": time.time() + lease_seconds}
    conn.execute(
        update(FILES).where(FILES.c.seq == row.seq).values(data={**row.data, "claim": claim})
    )
    return {
        "seq": row.seq,
        "owner": row.api_key_hash,
        "vector_store_id": row.vector_store_id,
        "file_id": row.id,
        "filename": row.filename,
        "strategy": row.data["chunking_strategy"],
    }


def finish_file(
    conn: Connection,
    seq: int,
    pid: int,
    usage_bytes: int,
    last_error: dict[str, str] | None = None,
) -> Literal["finished", "dropped", "taken"]:
    """Mark a claimed file ``completed``, or ``failed`` with ``last_error``.

    Returns ``finished``; ``dropped`` if the file was cancelled or detached meanwhile (its
    chunks are the caller's to remove); ``taken`` if it was re-added or another process took
    it over (that indexing replaces the chunks; leave them).
    """
    row = conn.execute(select(FILES).where(FILES.c.seq == seq)).first()
    if row is None or row.status != "in_progress":
        return "dropped"
    claim = row.data.get("claim")
    if not claim or claim["pid"] != pid:
        return "taken"
    conn.execute(
        update(FILES)
        .where(FILES.c.seq == seq)
        .values(
            status="failed" if last_error else "completed",
            usage_bytes=0 if last_error else usage_bytes,
            data={**row.data, "last_error": last_error, "claim": None},
        )
    )
    return "finished"
