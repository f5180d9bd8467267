"""The benchmarks, in table order: name → module whose ``measure(options)`` returns figures.

A module's ``measure`` returns one :class:`~benchmarks.figure.Figure` or a list of them; every
figure's name starts with the module's name.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from benchmarks.figure import Figure
from benchmarks.harness import Options

BENCHMARKS: tuple[str, ...] = (
    "startup",
    "vs_prebuilt",
    "concurrency",
    "vs_seed",
    "thread_length",
    "thread_length_state",
    "checkpoint_cost",
    "memory",
    "interpreter",
    "retrieval",
)
UNKNOWN = "Unknown benchmark {name!r}; choose from: {choices}."


def measurer(name: str) -> Callable[[Options], list[Figure]]:
    """The figures of the benchmark called ``name``, as a function of the options."""
    if name not in BENCHMARKS:
        raise ValueError(UNKNOWN.format(name=name, choices=", ".join(BENCHMARKS)))
    measure = importlib.import_module(f"benchmarks.{name}").measure

    def figures(options: Options) -> list[Figure]:
        result = measure(options)
        return [result] if isinstance(result, Figure) else list(result)

    return figures
