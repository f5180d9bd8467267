"""The sandboxed, stateful Python behind the ``code_interpreter`` tool.

:class:`InterpreterPool` keeps one Jupyter kernel per session key, each in a bubblewrap
sandbox with rlimits (see ``sandbox.py``), its files under ``/mnt/data``.
"""

from assistant_graph.assistants_server.interpreter.config import InterpreterSettings
from assistant_graph.assistants_server.interpreter.pool import InterpreterPool
from assistant_graph.assistants_server.interpreter.results import (
    ExecutionResult,
    SandboxUnavailable,
    WorkspaceFile,
)

__all__ = [
    "ExecutionResult",
    "InterpreterPool",
    "InterpreterSettings",
    "SandboxUnavailable",
    "WorkspaceFile",
]
