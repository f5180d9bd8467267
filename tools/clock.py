"""The ``current_datetime`` tool: the current date and time in an IANA time zone.

The model has no clock of its own; this tool gives it one. The time source is injectable
(``make_current_datetime_tool(clock=...)``) so tests can freeze it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

NAME = "current_datetime"
DESCRIPTION = (
    "Get the current date, time and weekday in a time zone. Use it whenever the answer depends "
    "on today's date or the current time. Returns ISO 8601 with the UTC offset, e.g. "
    "'2026-11-25T14:03:07+01:00 (Wednesday) in Europe/Paris'."
)
DEFAULT_TIMEZONE = "UTC"
MAX_TIMEZONE_LENGTH = 64
EXAMPLE_TIMEZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney")
UNKNOWN_TIMEZONE = (
    "Unknown time zone {name!r}.{hint} Use an IANA time zone name such as "
    + ", ".join(EXAMPLE_TIMEZONES)
    + "."
)

Clock = Callable[[], datetime]


class CurrentDatetimeInput(BaseModel):
    """Arguments of the ``current_datetime`` tool."""

    timezone: str = Field(
        default=DEFAULT_TIMEZONE,
        description=(
            "IANA time zone name, e.g. 'UTC', 'Europe/Paris', 'America/New_York'. Defaults to UTC."
        ),
    )


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


@cache
def _known_timezones() -> dict[str, str]:
    """Map lower-cased IANA names to their canonical spelling (read once)."""
    return {name.lower(): name for name in available_timezones()}


def resolve_timezone(name: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` for ``name`` (case-insensitive), or raise ``ToolException``."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > MAX_TIMEZONE_LENGTH:
        raise ToolException(UNKNOWN_TIMEZONE.format(name=name[:MAX_TIMEZONE_LENGTH], hint=""))
    canonical = _known_timezones().get(cleaned.lower(), cleaned)
    try:
        return ZoneInfo(canonical)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(canonical, _known_timezones().values(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ToolException(UNKNOWN_TIMEZONE.format(name=cleaned, hint=hint)) from exc


def describe_now(now: datetime, timezone: str) -> str:
    """Format the aware datetime ``now`` in ``timezone`` as ISO 8601 plus weekday."""
    zone = resolve_timezone(timezone)
    local = now.astimezone(zone)
    return f"{local.isoformat(timespec='seconds')} ({local:%A}) in {zone.key}"


def make_current_datetime_tool(clock: Clock | None = None) -> StructuredTool:
    """Build a ``current_datetime`` tool reading time from ``clock`` (default: the real clock).

    ``clock`` must return an aware datetime.
    """

    def current_datetime(timezone: str = DEFAULT_TIMEZONE) -> str:
        now = clock() if clock is not None else utc_now()
        return describe_now(now, timezone)

    return StructuredTool.from_function(
        func=current_datetime,
        name=NAME,
        description=DESCRIPTION,
        args_schema=CurrentDatetimeInput,
        handle_tool_error=False,
    )


current_datetime = make_current_datetime_tool()
