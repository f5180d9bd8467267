"""The unit_converter tool: exact conversions from an explicit table, clear refusals."""

from __future__ import annotations

import pytest
from assistant_graph.tools.unit_converter import UNITS, convert, unit_converter
from langchain_core.tools import ToolException


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (1, "in", "cm", "1 in = 2.54 cm"),
        (26.2, "miles", "km", "26.2 mi = 42.1648128 km"),
        (1, "Nautical  Mile", "m", "1 nmi = 1852 m"),
        (3, "ft", "yd", "3 ft = 1 yd"),
        (1, "kg", "lb", "1 kg = 2.2046226218487757 lb"),
        (16, "oz", "lb", "16 oz = 1 lb"),
        (1, "st", "lb", "1 st = 14 lb"),
        (1, "gal", "l", "1 gal = 3.785411784 l"),
        (1, "imperial gallon", "l", "1 imp_gal = 4.54609 l"),
        (1, "cup", "fl oz", "1 cup = 8 fl_oz"),
        (1, "m^3", "L", "1 m3 = 1000 l"),
        (1, "acre", "m2", "1 acre = 4046.8564224 m2"),
        (1, "km2", "ha", "1 km2 = 100 ha"),
        (100, "km/h", "m/s", "100 km/h = 27.77777777777778 m/s"),
        (60, "mph", "km/h", "60 mph = 96.56064 km/h"),
        (10, "knots", "km/h", "10 kn = 18.52 km/h"),
        (90, "minutes", "h", "90 min = 1.5 h"),
        (1, "week", "s", "1 week = 604800 s"),
        (100, "C", "F", "100 C = 212 F"),
        (-40, "celsius", "fahrenheit", "-40 C = -40 F"),
        (100, "°F", "°C", "100 F = 37.77777777777778 C"),
        (0, "K", "C", "0 K = -273.15 C"),
        (20, "C", "kelvin", "20 C = 293.15 K"),
        (5, "m", "m", "5 m = 5 m"),
    ],
)
def test_known_conversions(value: float, source: str, target: str, expected: str) -> None:
    """Conversions follow the exact definitions (1 in = 2.54 cm, 1 lb = 0.45359237 kg, ...)."""
    assert unit_converter.invoke({"value": value, "from_unit": source, "to_unit": target}) == (
        expected
    )


@pytest.mark.parametrize("name", sorted({unit.symbol for unit in UNITS.values()}))
def test_every_unit_round_trips_through_its_base(name: str) -> None:
    """Converting 7.25 of any unit to another of its quantity and back returns 7.25."""
    unit = UNITS[name.lower()]
    partner = next(u for u in UNITS.values() if u.quantity == unit.quantity and u != unit)
    there = convert(7.25, unit.symbol, partner.symbol)
    assert convert(there, partner.symbol, unit.symbol) == pytest.approx(7.25, rel=1e-15)


@pytest.mark.parametrize(
    ("value", "source", "target", "fragment"),
    [
        (1, "parsec", "m", "Unknown unit 'parsec'. Supported units: length: m, km"),
        (1, "m", "furlong", "Unknown unit 'furlong'"),
        (1, "kg", "m", "Cannot convert kg (mass) to m (length)"),
        (1, "C", "km/h", "Cannot convert C (temperature) to km/h (speed)"),
        (-500, "F", "C", "-500 F is below absolute zero"),
        (-1, "K", "C", "-1 K is below absolute zero"),
        (float("nan"), "m", "km", "must be a finite number"),
        (float("inf"), "m", "km", "must be a finite number"),
        (1e308, "km", "mm", "too large to represent"),
    ],
)
def test_refusals_are_clear(value: float, source: str, target: str, fragment: str) -> None:
    """Unknown units, mixed quantities, impossible temperatures and overflow are refused."""
    with pytest.raises(ToolException) as caught:
        unit_converter.invoke({"value": value, "from_unit": source, "to_unit": target})
    assert fragment in str(caught.value)
