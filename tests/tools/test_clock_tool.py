"""The current_datetime tool, driven by a frozen clock (never the real wall clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import assistant_graph.tools.clock as clock_module
import pytest
from assistant_graph.tools.clock import make_current_datetime_tool
from langchain_core.tools import ToolException

LATE_EVENING_UTC = datetime(2026, 11, 25, 23, 30, 5, tzinfo=UTC)
SUMMER_NOON_UTC = datetime(2026, 7, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "timezone", "expected"),
    [
        (LATE_EVENING_UTC, "UTC", "2026-11-25T23:30:05+00:00 (Wednesday) in UTC"),
        (
            LATE_EVENING_UTC,
            "Europe/Paris",
            "2026-11-26T00:30:05+01:00 (Thursday) in Europe/Paris",
        ),
        (
            LATE_EVENING_UTC,
            "Asia/Kolkata",
            "2026-11-26T05:00:05+05:30 (Thursday) in Asia/Kolkata",
        ),
        (
            SUMMER_NOON_UTC,
            "America/New_York",
            "2026-07-01T08:00:00-04:00 (Wednesday) in America/New_York",
        ),
        (
            LATE_EVENING_UTC,
            "America/New_York",
            "2026-11-25T18:30:05-05:00 (Wednesday) in America/New_York",
        ),
        (SUMMER_NOON_UTC, "asia/tokyo", "2026-07-01T21:00:00+09:00 (Wednesday) in Asia/Tokyo"),
        (
            SUMMER_NOON_UTC,
            "  Europe/London ",
            "2026-07-01T13:00:00+01:00 (Wednesday) in Europe/London",
        ),
    ],
)
def test_reports_the_frozen_time_in_the_requested_zone(
    now: datetime, timezone: str, expected: str
) -> None:
    """ISO 8601 with offset and weekday, converted to the zone (DST and date roll-over)."""
    tool = make_current_datetime_tool(clock=lambda: now)
    assert tool.invoke({"timezone": timezone}) == expected


def test_timezone_defaults_to_utc() -> None:
    """Without a timezone argument the answer is in UTC."""
    tool = make_current_datetime_tool(clock=lambda: SUMMER_NOON_UTC)
    assert tool.invoke({}) == "2026-07-01T12:00:00+00:00 (Wednesday) in UTC"


def test_default_tool_reads_the_module_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped tool asks tools.clock.utc_now for the time on every call."""
    monkeypatch.setattr(clock_module, "utc_now", lambda: LATE_EVENING_UTC)
    assert clock_module.current_datetime.invoke({"timezone": "UTC"}).startswith(
        "2026-11-25T23:30:05+00:00"
    )


def test_real_clock_returns_an_aware_iso_timestamp() -> None:
    """The real clock's answer parses as an aware ISO 8601 datetime in the asked zone."""
    answer = make_current_datetime_tool().invoke({"timezone": "Asia/Tokyo"})
    stamp, weekday, _, zone = answer.split(" ")
    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() is not None and parsed.utcoffset().total_seconds() == 9 * 3600
    assert weekday == f"({parsed:%A})"
    assert zone == "Asia/Tokyo"


@pytest.mark.parametrize(
    ("timezone", "fragment"),
    [
        ("Mars/Olympus_Mons", "Unknown time zone 'Mars/Olympus_Mons'"),
        ("Europe/Pari", "Did you mean Europe/Paris"),
        ("../../etc/passwd", "Unknown time zone"),
        ("/etc/localtime", "Unknown time zone"),
        ("", "Unknown time zone"),
        ("x" * 500, "Unknown time zone"),
        ("+02:00", "Unknown time zone"),
    ],
)
def test_unknown_zones_are_refused_with_examples(timezone: str, fragment: str) -> None:
    """A name that is not an IANA zone raises ToolException listing valid examples."""
    tool = make_current_datetime_tool(clock=lambda: SUMMER_NOON_UTC)
    with pytest.raises(ToolException) as caught:
        tool.invoke({"timezone": timezone})
    message = str(caught.value)
    assert fragment in message
    assert "Europe/Paris, America/New_York" in message
    assert len(message) < 400
