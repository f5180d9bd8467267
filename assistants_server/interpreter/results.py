"""What the interpreter takes and gives back: workspace files, execution results, errors."""

from __future__ import annotations

from dataclasses import dataclass, field

SANDBOX_MISSING = (
    "The code interpreter needs bubblewrap to sandbox its kernels, but {what}. Install it "
    "(Debian/Ubuntu: apt-get install bubblewrap) or point ASSISTANTS_SERVER_INTERPRETER_BWRAP_PATH "
    "at it; on a trusted single-user machine ASSISTANTS_SERVER_INTERPRETER_SANDBOX=unsandboxed "
    "runs code without a sandbox."
)
SANDBOX_NOT_LINUX = "bubblewrap runs only on Linux (this is {platform})"
PYTHON_MISSING = (
    "The code interpreter's Python {python!r} does not exist or cannot run ipykernel. Install "
    "ipykernel into it or set ASSISTANTS_SERVER_INTERPRETER_PYTHON to a Python that has it."
)
TIMED_OUT = "timed out after {seconds:g} s"
STRAYS_ENDED = (
    "; the code left {count} processes running, so the session was ended with them and starts "
    "afresh, its variables are gone"
)
RESTARTED = "; the session's kernel did not stop and was restarted, its variables are gone"
START_FAILED = "the kernel did not start ({reason}): {last}"
KERNEL_DIED = "kernel died ({reason}); the session's variables are gone"
FILE_NOT_WRITTEN = "could not put the files into /mnt/data: {reason}"
TRUNCATED = "\n[output truncated: {extra} more bytes beyond the {limit}-byte limit]\n"


class SandboxUnavailable(Exception):
    """No sandbox can run the interpreter here; the message says what is missing."""


@dataclass(frozen=True)
class WorkspaceFile:
    """A file under ``/mnt/data``: its path relative to that directory, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class ExecutionResult:
    """What one execution produced, as the user would see it."""

    logs: str
    """stdout, stderr and tracebacks in order, cut at the output limit (saying so)."""
    images: list[bytes] = field(default_factory=list)
    """PNG bytes of the figures the code displayed."""
    files: list[WorkspaceFile] = field(default_factory=list)
    """Files created or changed under ``/mnt/data`` by this execution."""
    error: str | None = None
    """None on success; else a short reason (exception name, time-out, kernel death)."""
