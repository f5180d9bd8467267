"""Formatting of numeric tool results for a language model to read.

Integers are printed exactly. Floats are printed with the shortest ``repr`` that round-trips,
except that the classic one-unit-in-the-last-place noise of binary floating point
(``0.1 + 0.2 == 0.30000000000000004``) is trimmed to 15 significant digits, and integral
floats of exactly representable size print without ``.0``.
"""

from __future__ import annotations

import math

SIGNIFICANT_DIGITS = 15
EXACT_FLOAT_INTEGER_LIMIT = 2**53


def format_number(value: int | float) -> str:
    """Return ``value`` as a short, exact-enough decimal string.

    Raises ``ValueError`` for NaN or infinity, which are never valid tool results.
    """
    if isinstance(value, bool):
        raise TypeError("format_number expects an int or float, not bool")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    trimmed = float(format(value, f".{SIGNIFICANT_DIGITS}g"))
    neighbours = (math.nextafter(value, math.inf), math.nextafter(value, -math.inf))
    if trimmed in neighbours:
        value = trimmed
    if value.is_integer() and abs(value) < EXACT_FLOAT_INTEGER_LIMIT:
        return str(int(value))
    return repr(value)
