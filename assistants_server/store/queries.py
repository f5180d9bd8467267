"""Queries every kind of object shares: one row by id, the caller's thread, a page of a list."""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.errors import (
    BAD_CURSOR_MESSAGE,
    InvalidRequest,
    NotFound,
)
from sqlalchemy import ColumnElement, Connection, Table, select


def get_row(
    conn: Connection, table: Table, object_id: str, *conditions: ColumnElement[bool]
) -> Any:
    """Return the row of ``table`` with ``object_id`` matching ``conditions`` (or NotFound)."""
    row = conn.execute(select(table).where(table.c.id == object_id, *conditions)).first()
    if row is None:
        kind, param = rows.KINDS[table.name]
        raise NotFound(kind, object_id, param)
    return row


def owned_thread(conn: Connection, owner: str, thread_id: str) -> Any:
    """Return the thread's row if the API key ``owner`` owns it; else :class:`NotFound`.

    Messages, runs and steps belong to their thread's owner: every request about them passes
    through here first.
    """
    return get_row(conn, db.threads, thread_id, db.threads.c.api_key_hash == owner)


def list_page(
    conn: Connection,
    table: Table,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    order: str,
    after: str | None,
    before: str | None,
) -> rows.Page:
    """Return a page of ``table`` (rows matching ``conditions``) ordered by ``seq``.

    ``after``/``before`` are ids from the same list (:class:`InvalidRequest` otherwise).
    """
    conditions = list(conditions)
    descending = order == "desc"
    for cursor_name, cursor_id in (("after", after), ("before", before)):
        if cursor_id is None:
            continue
        cursor_seq = conn.execute(
            select(table.c.seq).where(table.c.id == cursor_id, *conditions)
        ).scalar()
        if cursor_seq is None:
            kind, _ = rows.KINDS[table.name]
            raise InvalidRequest(
                BAD_CURSOR_MESSAGE.format(cursor=cursor_name, kind=kind, id=cursor_id),
                param=cursor_name,
            )
        # "after" continues in the list's order; "before" goes back against it.
        goes_up = (cursor_name == "after") != descending
        conditions.append(table.c.seq > cursor_seq if goes_up else table.c.seq < cursor_seq)
    query = select(table).where(*conditions)
    # Only "before": fetch the items nearest to the cursor, then present them in list order.
    backwards = before is not None and after is None
    ascending = descending == backwards
    query = query.order_by(table.c.seq.asc() if ascending else table.c.seq.desc())
    found = list(conn.execute(query.limit(limit + 1)))
    page = found[:limit]
    if backwards:
        page.reverse()
    build = rows.BUILDERS[table.name]
    return rows.Page([build(row) for row in page], len(found) > limit)
