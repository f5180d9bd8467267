"""The sandboxed, stateful Python behind the ``code_interpreter`` tool.

:class:`InterpreterPool` keeps one Jupyter kernel per session key, each in a bubblewrap
sandbox with rlimits (see ``sandbox.py``), its files under ``/mnt/data``.

The names below are imported on first access (PEP 562): the light ones (``SandboxUnavailable``,
``WorkspaceFile``, ``ExecutionResult``, ``InterpreterSettings``) never load ``jupyter_client``;
only ``InterpreterPool`` does.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant_graph.assistants_server.interpreter.config import InterpreterSettings
    from assistant_graph.assistants_server.interpreter.pool import InterpreterPool
    from assistant_graph.assistants_server.interpreter.results import (
        ExecutionResult,
        SandboxUnavailable,
        WorkspaceFile,
    )

_EXPORTS = {
    "ExecutionResult": "results",
    "InterpreterPool": "pool",
    "InterpreterSettings": "config",
    "SandboxUnavailable": "results",
    "WorkspaceFile": "results",
}
"""Public name → the submodule that defines it."""

__all__ = [
    "ExecutionResult",
    "InterpreterPool",
    "InterpreterSettings",
    "SandboxUnavailable",
    "WorkspaceFile",
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the module's names, the lazily imported ones included."""
    return sorted({*globals(), *__all__})
