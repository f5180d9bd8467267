"""The ``unit_converter`` tool: convert a value between units of the same quantity.

Units come from an explicit table (length, area, volume, mass, speed, time, temperature); each
unit is defined by an exact decimal (or ratio) factor to its quantity's base unit, and
conversions are computed with :class:`fractions.Fraction`, so ``1 in`` is exactly
``2.54 cm``. US customary volumes are used for gallons, quarts, pints, cups and fluid ounces
(imperial gallons are ``imp_gal``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from assistant_graph.tools.numbers import format_number
from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, Field

NAME = "unit_converter"


@dataclass(frozen=True)
class Unit:
    """One unit: its quantity, canonical symbol and the names it is recognised by."""

    quantity: str
    symbol: str
    factor: Fraction
    aliases: tuple[str, ...]


# quantity -> (symbol, exact factor to the base unit as a decimal or ratio string, aliases)
_TABLE: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "length": (
        ("m", "1", ("meter", "meters", "metre", "metres")),
        ("km", "1000", ("kilometer", "kilometers", "kilometre", "kilometres")),
        ("cm", "0.01", ("centimeter", "centimeters", "centimetre", "centimetres")),
        ("mm", "0.001", ("millimeter", "millimeters", "millimetre", "millimetres")),
        ("mi", "1609.344", ("mile", "miles")),
        ("yd", "0.9144", ("yard", "yards")),
        ("ft", "0.3048", ("foot", "feet")),
        ("in", "0.0254", ("inch", "inches")),
        ("nmi", "1852", ("nautical mile", "nautical miles")),
    ),
    "area": (
        ("m2", "1", ("m^2", "square meter", "square meters", "square metre", "square metres")),
        ("km2", "1000000", ("km^2", "square kilometer", "square kilometers", "square kilometre")),
        ("ha", "10000", ("hectare", "hectares")),
        ("acre", "4046.8564224", ("acres", "ac")),
        ("ft2", "0.09290304", ("ft^2", "sq ft", "square foot", "square feet")),
        ("mi2", "2589988.110336", ("mi^2", "sq mi", "square mile", "square miles")),
    ),
    "volume": (
        ("l", "0.001", ("liter", "liters", "litre", "litres")),
        ("ml", "0.000001", ("milliliter", "milliliters", "millilitre", "millilitres")),
        ("m3", "1", ("m^3", "cubic meter", "cubic meters", "cubic metre", "cubic metres")),
        ("gal", "0.003785411784", ("gallon", "gallons", "us gallon", "us gallons")),
        ("imp_gal", "0.00454609", ("imperial gallon", "imperial gallons")),
        ("qt", "0.000946352946", ("quart", "quarts")),
        ("pt", "0.000473176473", ("pint", "pints")),
        ("cup", "0.0002365882365", ("cups",)),
        ("fl_oz", "0.0000295735295625", ("fl oz", "fluid ounce", "fluid ounces")),
    ),
    "mass": (
        ("kg", "1", ("kilogram", "kilograms")),
        ("g", "0.001", ("gram", "grams")),
        ("mg", "0.000001", ("milligram", "milligrams")),
        ("t", "1000", ("tonne", "tonnes", "metric ton", "metric tons")),
        ("lb", "0.45359237", ("lbs", "pound", "pounds")),
        ("oz", "0.028349523125", ("ounce", "ounces")),
        ("st", "6.35029318", ("stone", "stones")),
    ),
    "speed": (
        ("m/s", "1", ("meters per second", "metres per second", "mps")),
        ("km/h", "1000/3600", ("kph", "kmh", "kilometers per hour")),
        ("mph", "0.44704", ("mi/h", "miles per hour")),
        ("kn", "1852/3600", ("knot", "knots", "kt")),
        ("ft/s", "0.3048", ("fps", "feet per second")),
    ),
    "time": (
        ("s", "1", ("sec", "second", "seconds")),
        ("ms", "0.001", ("millisecond", "milliseconds")),
        ("min", "60", ("minute", "minutes")),
        ("h", "3600", ("hr", "hour", "hours")),
        ("day", "86400", ("days", "d")),
        ("week", "604800", ("weeks", "wk")),
    ),
}

_TEMPERATURE_UNITS = (
    ("C", ("c", "°c", "celsius", "degc", "degrees celsius")),
    ("F", ("f", "°f", "fahrenheit", "degf", "degrees fahrenheit")),
    ("K", ("k", "kelvin", "kelvins")),
)
_ABSOLUTE_ZERO_KELVIN = Fraction(0)


def _build_units() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for quantity, rows in _TABLE.items():
        for symbol, factor, aliases in rows:
            unit = Unit(quantity, symbol, Fraction(factor), aliases)
            for name in (symbol, *aliases):
                units[name.lower()] = unit
    for symbol, aliases in _TEMPERATURE_UNITS:
        unit = Unit("temperature", symbol, Fraction(1), aliases)
        for name in (symbol, *aliases):
            units[name.lower()] = unit
    return units


UNITS = _build_units()

SUPPORTED_UNITS = (
    "; ".join(
        f"{quantity}: {', '.join(row[0] for row in rows)}" for quantity, rows in _TABLE.items()
    )
    + "; temperature: C, F, K"
)

DESCRIPTION = (
    "Convert a value from one unit to another of the same quantity, exactly. Supported units "
    f"({SUPPORTED_UNITS}); full names such as 'miles' or 'celsius' work too. US customary "
    "volumes (imp_gal for imperial gallons)."
)
UNKNOWN_UNIT = "Unknown unit {unit!r}. Supported units: " + SUPPORTED_UNITS + "."
INCOMPATIBLE = "Cannot convert {source} ({source_quantity}) to {target} ({target_quantity})."
NOT_FINITE = "The value must be a finite number, got {value!r}."
BELOW_ABSOLUTE_ZERO = "{value} {symbol} is below absolute zero (0 K = -273.15 C = -459.67 F)."
RESULT_TOO_LARGE = "The converted value is too large to represent (over about 1.8e308)."


class UnitConverterInput(BaseModel):
    """Arguments of the ``unit_converter`` tool."""

    value: float = Field(description="The number to convert, e.g. 26.2.")
    from_unit: str = Field(description="The unit of the value, e.g. 'mi', 'kg', 'F', 'km/h'.")
    to_unit: str = Field(description="The unit to convert to, e.g. 'km', 'lb', 'C', 'mph'.")


def lookup_unit(name: str) -> Unit:
    """Return the unit called ``name`` (symbol or alias, case-insensitive)."""
    unit = UNITS.get(" ".join(name.split()).lower())
    if unit is None:
        raise ToolException(UNKNOWN_UNIT.format(unit=name[:40]))
    return unit


def _to_kelvin(value: Fraction, symbol: str) -> Fraction:
    if symbol == "C":
        return value + Fraction("273.15")
    if symbol == "F":
        return (value - 32) * Fraction(5, 9) + Fraction("273.15")
    return value


def _from_kelvin(kelvin: Fraction, symbol: str) -> Fraction:
    if symbol == "C":
        return kelvin - Fraction("273.15")
    if symbol == "F":
        return (kelvin - Fraction("273.15")) * Fraction(9, 5) + 32
    return kelvin


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` from ``from_unit`` to ``to_unit`` and return the nearest float."""
    if not math.isfinite(value):
        raise ToolException(NOT_FINITE.format(value=value))
    source, target = lookup_unit(from_unit), lookup_unit(to_unit)
    if source.quantity != target.quantity:
        raise ToolException(
            INCOMPATIBLE.format(
                source=source.symbol,
                source_quantity=source.quantity,
                target=target.symbol,
                target_quantity=target.quantity,
            )
        )
    exact = Fraction(value)
    if source.quantity == "temperature":
        kelvin = _to_kelvin(exact, source.symbol)
        if kelvin < _ABSOLUTE_ZERO_KELVIN:
            raise ToolException(
                BELOW_ABSOLUTE_ZERO.format(value=format_number(value), symbol=source.symbol)
            )
        result = _from_kelvin(kelvin, target.symbol)
    else:
        result = exact * source.factor / target.factor
    try:
        return float(result)
    except OverflowError as exc:
        raise ToolException(RESULT_TOO_LARGE) from exc


def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Return ``'<value> <from> = <result> <to>'`` for the tool's caller."""
    result = convert(value, from_unit, to_unit)
    source, target = lookup_unit(from_unit), lookup_unit(to_unit)
    return f"{format_number(value)} {source.symbol} = {format_number(result)} {target.symbol}"


def make_unit_converter_tool() -> StructuredTool:
    """Build a fresh ``unit_converter`` tool instance."""
    return StructuredTool.from_function(
        func=convert_units,
        name=NAME,
        description=DESCRIPTION,
        args_schema=UnitConverterInput,
        handle_tool_error=False,
    )


unit_converter = make_unit_converter_tool()
