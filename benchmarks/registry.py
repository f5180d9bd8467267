"""The benchmark figures, in table order: name → module with ``measure(options) -> Figure``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from benchmarks.figure import Figure
from benchmarks.harness import Options

FIGURES: tuple[str, ...] = (
    "step_overhead",
    "vs_seed",
    "thread_length",
    "thread_length_state",
    "concurrency",
    "throughput",
    "checkpoint_cost",
    "memory",
)


def measurer(name: str) -> Callable[[Options], Figure]:
    """The ``measure`` function of the figure called ``name``."""
    if name not in FIGURES:
        raise ValueError(f"Unknown benchmark {name!r}; choose from: {', '.join(FIGURES)}.")
    return importlib.import_module(f"benchmarks.{name}").measure
