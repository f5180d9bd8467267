"""Property checks of the calculator: it agrees with Python's arithmetic and never crashes.

Expected values come from the :mod:`operator` module applied to the generated numbers
(never from evaluating the expression text).
"""

from __future__ import annotations

import math
import operator

from assistant_graph.tools.calculator import calculate
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.tools import ToolException

PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)

INT_OPERATORS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "//": operator.floordiv,
    "%": operator.mod,
}
FLOAT_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}

big_ints = st.integers(min_value=-(10**40), max_value=10**40)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@PROPERTY_SETTINGS
@given(left=big_ints, right=big_ints, symbol=st.sampled_from(sorted(INT_OPERATORS)))
def test_integer_arithmetic_is_exact(left: int, right: int, symbol: str) -> None:
    """Integer + - * // % give exactly Python's integer result; zero divisors are refused."""
    expression = f"({left}) {symbol} ({right})"
    if right == 0 and symbol in {"//", "%"}:
        try:
            calculate(expression)
        except ToolException as exc:
            assert "Division by zero" in str(exc)
            return
        raise AssertionError("division by zero was not refused")
    assert calculate(expression) == str(INT_OPERATORS[symbol](left, right))


@PROPERTY_SETTINGS
@given(base=st.integers(min_value=-60, max_value=60), exponent=st.integers(0, 60))
def test_integer_powers_are_exact(base: int, exponent: int) -> None:
    """Small integer powers are exact, with both ** and ^ spellings."""
    expected = str(base**exponent)
    assert calculate(f"({base}) ** {exponent}") == expected
    assert calculate(f"({base}) ^ {exponent}") == expected


@PROPERTY_SETTINGS
@given(left=finite_floats, right=finite_floats, symbol=st.sampled_from(sorted(FLOAT_OPERATORS)))
def test_float_arithmetic_matches_python_within_one_ulp(
    left: float, right: float, symbol: str
) -> None:
    """Float + - * / match Python's result to one unit in the last place, or are refused."""
    expression = f"({left!r}) {symbol} ({right!r})"
    try:
        expected = FLOAT_OPERATORS[symbol](left, right)
    except ZeroDivisionError:
        expected = None
    try:
        result = float(calculate(expression))
    except ToolException as exc:
        if expected is None:
            assert "Division by zero" in str(exc)
        else:
            assert math.isinf(expected) and "Result too large" in str(exc)
        return
    assert expected is not None and math.isfinite(expected)
    assert result == expected or math.nextafter(expected, result) == result


@PROPERTY_SETTINGS
@given(text=st.text(max_size=120))
def test_arbitrary_text_returns_a_number_or_a_tool_exception(text: str) -> None:
    """Any text at all yields a numeric result or a ToolException, never another error."""
    try:
        result = calculate(text)
    except ToolException as exc:
        assert str(exc)
        return
    float(result)


@PROPERTY_SETTINGS
@given(text=st.text(alphabet="9876543210.e*^/%-+() ", max_size=60))
def test_operator_soup_is_bounded(text: str) -> None:
    """Dense mixes of digits, powers and parentheses finish with a result or a ToolException."""
    try:
        result = calculate(text)
    except ToolException as exc:
        assert str(exc)
        return
    assert len(result) <= 3100
