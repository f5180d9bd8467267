"""Queries every kind of object shares: one row by id, the caller's thread, a page of a list.

The statements for one row by id (and other columns) and for an update by id are built once
per table and column set, with bound parameters, and reused: SQLAlchemy then reuses their
cache key and compiled form instead of building them again for every call.
"""

from __future__ import annotations

import functools
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.errors import (
    BAD_CURSOR_MESSAGE,
    InvalidRequest,
    NotFound,
)
from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    Update,
    bindparam,
    insert,
    select,
    update,
)


@functools.cache
def _select_by(table_name: str, columns: tuple[str, ...]) -> Select[Any]:
    table = db.metadata.tables[table_name]
    return select(table).where(*(table.c[name] == bindparam(f"by_{name}") for name in columns))


@functools.cache
def _update_by_id(table_name: str) -> Update:
    table = db.metadata.tables[table_name]
    return update(table).where(table.c.id == bindparam("by_id"))


def get_row(conn: Connection, table: Table, object_id: str, **columns: str) -> Any:
    """Return the row of ``table`` with ``object_id`` and these column values (or NotFound)."""
    values = {"id": object_id, **columns}
    statement = _select_by(table.name, tuple(values))
    row = conn.execute(statement, {f"by_{name}": value for name, value in values.items()}).first()
    if row is None:
        kind, param = rows.KINDS[table.name]
        raise NotFound(kind, object_id, param)
    return row


def update_by_id(conn: Connection, table: Table, object_id: str, values: dict[str, Any]) -> None:
    """Set the columns ``values`` of the row of ``table`` with ``object_id``."""
    conn.execute(_update_by_id(table.name), {"by_id": object_id, **values})


@functools.cache
def _insert(table_name: str) -> Any:
    return insert(db.metadata.tables[table_name])


def insert_row(conn: Connection, table: Table, values: dict[str, Any]) -> Any:
    """Insert one row of ``table`` with the columns ``values``; return the result."""
    return conn.execute(_insert(table.name), values)


def owned_thread(conn: Connection, owner: str, thread_id: str) -> Any:
    """Return the thread's row if the API key ``owner`` owns it; else :class:`NotFound`.

    Messages, runs and steps belong to their thread's owner: every request about them passes
    through here first.
    """
    return get_row(conn, db.threads, thread_id, api_key_hash=owner)


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
