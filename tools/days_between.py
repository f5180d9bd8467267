"""The ``days_between`` tool: the number of days from one calendar date to another.

Date arithmetic is easy to get wrong in one's head (month lengths, leap years); this tool
does it exactly with :mod:`datetime`. Dates are ISO 8601 (``YYYY-MM-DD``).
"""

from __future__ import annotations

from datetime import date

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

NAME = "days_between"
DESCRIPTION = (
    "Count the days from a start date to an end date (ISO 8601, YYYY-MM-DD). The result is "
    "negative when the end date is before the start date. Combine with current_datetime to "
    "count days from or until today."
)
MAX_DATE_LENGTH = 32
INVALID_DATE = (
    "Invalid {field} date {value!r}: use ISO 8601 format YYYY-MM-DD (e.g. 2026-11-25), "
    "with years 1 to 9999."
)


class DaysBetweenInput(BaseModel):
    """Arguments of the ``days_between`` tool."""

    start_date: str = Field(description="The first date, ISO 8601 YYYY-MM-DD, e.g. 2026-01-01.")
    end_date: str = Field(description="The second date, ISO 8601 YYYY-MM-DD, e.g. 2026-12-25.")


def parse_date(value: str, field: str) -> date:
    """Parse an ISO 8601 calendar date, or raise ``ToolException`` naming ``field``."""
    text = value.strip()
    if len(text) > MAX_DATE_LENGTH:
        raise ToolException(INVALID_DATE.format(field=field, value=text[:MAX_DATE_LENGTH] + "…"))
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ToolException(INVALID_DATE.format(field=field, value=text)) from exc


def count_days(start_date: str, end_date: str) -> str:
    """Return a sentence giving the signed number of days from ``start_date`` to ``end_date``."""
    start = parse_date(start_date, "start")
    end = parse_date(end_date, "end")
    days = (end - start).days
    sentence = (
        f"{_plural(days, 'day')} from {start.isoformat()} ({start:%A}) "
        f"to {end.isoformat()} ({end:%A})"
    )
    weeks, rest = divmod(abs(days), 7)
    if weeks:
        sentence += f", that is {_plural(weeks, 'week')}" + (
            f" and {_plural(rest, 'day')}" if rest else ""
        )
    return sentence + "."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if abs(count) == 1 else f"{count} {word}s"


def make_days_between_tool() -> StructuredTool:
    """Build a fresh ``days_between`` tool instance."""
    return StructuredTool.from_function(
        func=count_days,
        name=NAME,
        description=DESCRIPTION,
        args_schema=DaysBetweenInput,
        handle_tool_error=False,
    )


days_between = make_days_between_tool()
