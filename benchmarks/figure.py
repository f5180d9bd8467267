"""The result of one benchmark: a figure, its target, and the measurements behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One row of the benchmark table (and one entry of the JSON output)."""

    name: str
    """Unique identifier (starts with the ``--only`` name of the module that measured it)."""
    title: str
    """What is measured, in words."""
    value: float
    """The headline number (a ratio, seconds, bytes, MiB)."""
    unit: str
    """Unit of ``value`` (``x`` for a ratio)."""
    target: str = ""
    """Target as text (``<= 1.2``), empty when the figure is only reported."""
    holds: bool | None = None
    """Whether the target holds (None when there is no target)."""
    details: dict[str, Any] = field(default_factory=dict)
    """The measurements the value was computed from (seconds, counts, sizes)."""
    shown: tuple[str, ...] = ()
    """Keys of ``details`` the table prints beside the value."""

    def to_json(self) -> dict[str, Any]:
        """Plain-JSON form."""
        document = asdict(self)
        document["shown"] = list(self.shown)
        return document


def at_most(value: float, limit: float) -> tuple[str, bool]:
    """(target text, holds) for an upper bound."""
    return f"<= {limit:g}", value <= limit


def below(value: float, limit: float) -> tuple[str, bool]:
    """(target text, holds) for a strict upper bound."""
    return f"< {limit:g}", value < limit
