"""Attribute filters (the spec's comparison and compound filters) as SQL over file attributes.

:func:`filter_clause` validates a request's ``filters`` and turns it into a SQLAlchemy
expression on ``vector_store_files.attributes`` (JSON), so filtering happens in the database
on SQLite and PostgreSQL alike. ``ne`` and ``nin`` also match files without the attribute.
"""

from __future__ import annotations

from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.retrieval.errors import BAD_FILTER, RetrievalInputError
from sqlalchemy import ColumnElement, and_, false, not_, or_, true

COMPARISONS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin"})
COMPOUNDS = frozenset({"and", "or"})
MAX_DEPTH = 8


def _bad(problem: str) -> RetrievalInputError:
    return RetrievalInputError(BAD_FILTER.format(problem=problem), "filters")


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _typed(key: str, value: Any) -> ColumnElement[Any]:
    """Read the attribute ``key`` as the JSON type of ``value``."""
    field = db.vector_store_files.c.attributes[key]
    if isinstance(value, bool):
        return field.as_boolean()
    if isinstance(value, int | float):
        return field.as_float()
    return field.as_string()


def _comparison(spec: dict[str, Any]) -> ColumnElement[bool]:
    op, key, value = spec.get("type", "eq"), spec.get("key"), spec.get("value")
    if set(spec) - {"type", "key", "value"}:
        raise _bad(f"unknown fields {sorted(set(spec) - {'type', 'key', 'value'})}")
    if not isinstance(key, str) or not key:
        raise _bad("'key' must be a non-empty string")
    present = db.vector_store_files.c.attributes[key].as_string().is_not(None)
    if op in ("in", "nin"):
        if not isinstance(value, list) or not all(
            _scalar(item) and not isinstance(item, bool) for item in value
        ):
            raise _bad(f"'{op}' needs a list of strings or numbers as 'value'")
        strings = [item for item in value if isinstance(item, str)]
        numbers = [float(item) for item in value if not isinstance(item, str)]
        matches = or_(
            _typed(key, "").in_(strings) if strings else false(),
            _typed(key, 0.0).in_(numbers) if numbers else false(),
        )
        return matches if op == "in" else or_(not_(present), not_(matches))
    if not _scalar(value):
        raise _bad(f"'{op}' needs a string, number or boolean 'value'")
    field = _typed(key, value)
    if op == "eq":
        return and_(present, field == value)
    if op == "ne":
        return or_(not_(present), field != value)
    if isinstance(value, bool):
        raise _bad(f"'{op}' compares strings or numbers, not booleans")
    compare = {"gt": field > value, "gte": field >= value, "lt": field < value}
    return and_(present, compare.get(op, field <= value))


def filter_clause(spec: Any, depth: int = 0) -> ColumnElement[bool]:
    """Validate ``filters`` and build its SQL condition (``true()`` for no filter)."""
    if spec is None:
        return true()
    if not isinstance(spec, dict):
        raise _bad("a filter must be an object")
    if depth > MAX_DEPTH:
        raise _bad(f"filters nest deeper than {MAX_DEPTH} levels")
    kind = spec.get("type", "eq")
    if kind in COMPOUNDS:
        items = spec.get("filters")
        if set(spec) != {"type", "filters"} or not isinstance(items, list) or not items:
            raise _bad(f"'{kind}' needs a non-empty 'filters' list")
        clauses = [filter_clause(item, depth + 1) for item in items]
        return and_(*clauses) if kind == "and" else or_(*clauses)
    if kind not in COMPARISONS:
        raise _bad(f"unknown filter type {kind!r}")
    return _comparison(spec)
