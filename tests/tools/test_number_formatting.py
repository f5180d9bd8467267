"""How numeric tool results are written: exact integers, short and faithful floats."""

from __future__ import annotations

import math

import pytest
from assistant_graph.tools.numbers import format_number
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (-17, "-17"),
        (10**30, "1" + "0" * 30),
        (2.0, "2"),
        (-0.0, "0"),
        (0.5, "0.5"),
        (0.1 + 0.2, "0.3"),
        (10 - 4**2.7, "-32.22425314473263"),
        (1 / 3, "0.3333333333333333"),
        (1e20, "1e+20"),
        (1.5e-7, "1.5e-07"),
        (math.tan(math.pi / 4), "1"),
    ],
)
def test_known_values(value: float, expected: str) -> None:
    """Integers are exact; floats drop one-ulp noise and a redundant .0."""
    assert format_number(value) == expected


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_non_finite_floats_are_refused(value: float) -> None:
    """NaN and infinities are never formatted as results."""
    with pytest.raises(ValueError, match="not a finite number"):
        format_number(value)


def test_booleans_are_refused() -> None:
    """A bool is not a number result."""
    with pytest.raises(TypeError):
        format_number(True)


@settings(max_examples=300, deadline=None, database=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_formatted_floats_read_back_within_one_ulp(value: float) -> None:
    """Reading the text back gives the same float or its immediate neighbour."""
    read_back = float(format_number(value))
    assert read_back == value or math.nextafter(value, read_back) == read_back
