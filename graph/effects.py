"""Run a plan written as a generator of effects, with a sync or an async executor.

The graph's request logic (``graph.run_core``, ``graph.step_plan``, ``graph.provisioning``) is
written once, as generators that yield what to do and receive the result (or the exception,
thrown back in). :func:`drive` and :func:`adrive` are the only loops that carry them out.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

E = TypeVar("E")
R = TypeVar("R")


def drive(plan: Generator[E, Any, R], execute: Callable[[E], Any]) -> R:
    """Carry out ``plan`` with ``execute`` (sync); return the plan's result."""
    result: Any = None
    error: Exception | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(result)
        except StopIteration as stop:
            return stop.value
        result, error = None, None
        try:
            result = execute(effect)
        except Exception as exc:
            error = exc


async def adrive(plan: Generator[E, Any, R], execute: Callable[[E], Awaitable[Any]]) -> R:
    """Carry out ``plan`` with the coroutine function ``execute``; return the plan's result."""
    result: Any = None
    error: Exception | None = None
    while True:
        try:
            effect = plan.throw(error) if error is not None else plan.send(result)
        except StopIteration as stop:
            return stop.value
        result, error = None, None
        try:
            result = await execute(effect)
        except Exception as exc:
            error = exc
