"""Run the ``assistant-graph`` console script as a real subprocess (pipes or a terminal).

The child gets SIGINT's default disposition, as in a terminal: a test run started in the
background of a non-interactive shell inherits SIGINT ignored, and Python keeps it so. Without
``input`` its stdin is ``/dev/null`` (never the terminal pytest may run in), so it is not
interactive unless run on a pseudo-terminal (:class:`TerminalSession`).
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

PROMPT_SETTLE_SECONDS = 0.5
"""How long a simulated person waits after a prompt before pressing Ctrl-C."""
TIMEOUT_SECONDS = 120.0


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def command() -> list[str]:
    """The installed console script (or the module, where none is on PATH)."""
    script = shutil.which("assistant-graph")
    return [script] if script else [sys.executable, "-m", "assistant_graph.graph.cli"]


def run_cli(args: list[str], env: dict, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run one command to its end, capturing its output."""
    if "input" not in kwargs:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(
        command() + args,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIMEOUT_SECONDS,
        preexec_fn=default_sigint,
        **kwargs,
    )


def start_cli(args: list[str], env: dict) -> subprocess.Popen:
    """Start a command with piped output (read it line by line with :func:`read_until`)."""
    return subprocess.Popen(
        command() + args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=default_sigint,
    )


def read_until(process: subprocess.Popen, text: str) -> str:
    """Read the process's stdout until a line containing ``text``; return what was read."""
    assert process.stdout is not None
    seen = ""
    while text not in seen:
        line = process.stdout.readline()
        assert line, f"stdout ended before {text!r}: {seen!r}"
        seen += line
    return seen


def write_script(directory: Path, rules: list[dict[str, Any]]) -> Path:
    """Write an offline-model script (README: "Scripted mode") and return its path."""
    path = directory / "script.json"
    path.write_text(json.dumps(rules))
    return path


def thread_of(output: str) -> str:
    """The conversation id printed by ``ask`` (its last line, or the interruption note)."""
    match = re.search(r"^thread: (\S+)", output, re.MULTILINE) or re.search(
        r"--thread (\w+)", output
    )
    assert match, output
    return match.group(1)


class TerminalSession:
    """A command on a pseudo-terminal: stdin, stdout and stderr are its TTY."""

    def __init__(self, args: list[str], env: dict) -> None:
        """Start the command with a new pseudo-terminal as its controlling streams."""
        master, slave = pty.openpty()
        self.master = master
        self.output = ""
        self.process = subprocess.Popen(
            command() + args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=default_sigint,
            close_fds=True,
        )
        os.close(slave)

    def expect(self, text: str) -> str:
        """Read until ``text`` has appeared since the last expected text; return the output."""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while text not in self.output:
            assert time.monotonic() < deadline, f"no {text!r} in {self.output!r}"
            ready, _, _ = select.select([self.master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"the terminal closed before {text!r}: {self.output!r}"
                self.output += chunk.decode(errors="replace").replace("\r\n", "\n")
        before, _, after = self.output.partition(text)
        self.output = after
        return before + text

    def interrupt(self) -> None:
        """Press Ctrl-C at the prompt just shown, once the command is waiting for the answer.

        The prompt is written just before the command starts waiting for input; a SIGINT that
        lands in between is handled but does not wake the wait (a person would press Ctrl-C a
        second time). A person never answers within microseconds: give the command a moment.
        """
        time.sleep(PROMPT_SETTLE_SECONDS)
        self.process.send_signal(signal.SIGINT)

    def send(self, line: str) -> None:
        """Type a line."""
        os.write(self.master, (line + "\n").encode())

    def wait(self) -> tuple[int, str]:
        """Wait for the end; return the exit status and the rest of the output."""
        rest = ""
        try:
            while True:
                ready, _, _ = select.select([self.master], [], [], 1.0)
                if ready:
                    chunk = os.read(self.master, 4096)
                    if not chunk:
                        break
                    rest += chunk.decode(errors="replace").replace("\r\n", "\n")
                elif self.process.poll() is not None:
                    break
        except OSError:  # EIO: the child closed the terminal
            pass
        status = self.process.wait(timeout=TIMEOUT_SECONDS)
        return status, self.output + rest

    def close(self) -> None:
        """Stop the command if it still runs and release the terminal."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)
