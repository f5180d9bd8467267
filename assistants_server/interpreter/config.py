"""The interpreter's limits and sandbox choice, taken from the server's settings."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant_graph.assistants_server.settings import ServerSettings


@dataclass(frozen=True)
class InterpreterSettings:
    """Limits of the interpreter's sessions (see the ``interpreter_*`` server settings)."""

    sandbox: Literal["bwrap", "unsandboxed"] = "bwrap"
    bwrap_path: str = "bwrap"
    python: str = ""
    idle_seconds: float = 3600.0
    wall_seconds: float = 120.0
    cpu_seconds: int = 600
    memory_mb: int = 2048
    max_processes: int = 64
    max_file_mb: int = 100
    output_bytes: int = 65536
    max_sessions: int = 8

    @classmethod
    def from_server(cls, settings: ServerSettings) -> InterpreterSettings:
        """Take the interpreter part of the server's settings."""
        return cls(
            sandbox=settings.interpreter_sandbox,
            bwrap_path=settings.interpreter_bwrap_path,
            python=settings.interpreter_python,
            idle_seconds=settings.interpreter_idle_seconds,
            wall_seconds=settings.interpreter_wall_seconds,
            cpu_seconds=settings.interpreter_cpu_seconds,
            memory_mb=settings.interpreter_memory_mb,
            max_processes=settings.interpreter_max_processes,
            max_file_mb=settings.interpreter_max_file_mb,
            output_bytes=settings.interpreter_output_bytes,
            max_sessions=settings.interpreter_max_sessions,
        )

    def kernel_python(self) -> Path:
        """Return the Python that runs kernels: the setting, else the server's base one.

        The base interpreter (not a virtual environment's) so the sandbox needs only its
        installation prefix, never the project's directory.
        """
        if self.python:
            return Path(self.python)
        base = Path(sys.base_prefix) / "bin"
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        return base / version if (base / version).exists() else base / "python3"
