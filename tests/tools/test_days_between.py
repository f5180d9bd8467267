"""The days_between tool: exact signed day counts between ISO dates."""

from __future__ import annotations

import pytest
from assistant_graph.tools.days_between import days_between
from langchain_core.tools import ToolException


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (
            "2024-02-01",
            "2024-03-01",
            "29 days from 2024-02-01 (Thursday) to 2024-03-01 (Friday), that is 4 weeks and 1 day.",
        ),
        (
            "2023-02-01",
            "2023-03-01",
            "28 days from 2023-02-01 (Wednesday) to 2023-03-01 (Wednesday), that is 4 weeks.",
        ),
        ("2025-12-31", "2026-01-01", "1 day from 2025-12-31 (Wednesday) to 2026-01-01 (Thursday)."),
        (
            "2026-11-25",
            "2026-11-25",
            "0 days from 2026-11-25 (Wednesday) to 2026-11-25 (Wednesday).",
        ),
        (
            "2026-12-25",
            "2026-11-25",
            "-30 days from 2026-12-25 (Friday) to 2026-11-25 (Wednesday), "
            "that is 4 weeks and 2 days.",
        ),
        (
            " 2000-01-01 ",
            "2100-01-01",
            "36525 days from 2000-01-01 (Saturday) to 2100-01-01 "
            "(Friday), that is 5217 weeks and 6 days.",
        ),
    ],
)
def test_counts_days_exactly(start: str, end: str, expected: str) -> None:
    """Leap years, year ends, equal dates and reversed order are all counted exactly."""
    assert days_between.invoke({"start_date": start, "end_date": end}) == expected


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        ("2026-02-30", "2026-03-01", "Invalid start date '2026-02-30'"),
        ("2026-01-01", "tomorrow", "Invalid end date 'tomorrow'"),
        ("2026-13-01", "2026-01-01", "Invalid start date"),
        ("", "2026-01-01", "Invalid start date"),
        ("2026-01-01", "9" * 100, "Invalid end date"),
    ],
)
def test_invalid_dates_name_the_argument_and_the_format(
    start: str, end: str, fragment: str
) -> None:
    """A date that is not ISO 8601 raises ToolException naming the argument and the format."""
    with pytest.raises(ToolException) as caught:
        days_between.invoke({"start_date": start, "end_date": end})
    assert fragment in str(caught.value)
    assert "YYYY-MM-DD" in str(caught.value)
