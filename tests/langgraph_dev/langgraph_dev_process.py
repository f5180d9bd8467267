"""Start and stop a real ``langgraph dev`` server in a subprocess, for tests.

The server runs in its own process group, in a working directory of the caller's choosing
(``./file.py:var`` graph paths and the ``.langgraph_api/`` store resolve from it), offline:
no analytics, no version check, no tracing. Its output goes to a log file whose tail is shown
whenever something goes wrong. ``langgraph dev`` silently moves to another port when the
requested one is taken, so the real URL is read from its ``API: http://…`` log line.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
REPO_CONFIG = REPO_ROOT / "langgraph.json"

OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "LANGSMITH_TRACING": "false",
}
"""What ``langgraph dev`` needs to run without internet (and to shut down promptly)."""

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 20.0
LOG_TAIL_LINES = 60

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_API_LINE = re.compile(r"API:\s*(http://[0-9A-Za-z.\-]+:\d+)")


class LanggraphDevError(RuntimeError):
    """``langgraph dev`` did not start (or stop) as expected; the message has its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LanggraphDev:
    """A running ``langgraph dev`` subprocess."""

    process: subprocess.Popen
    log_path: Path
    workdir: Path
    url: str = ""

    def log_text(self) -> str:
        """The whole log so far, without colour codes."""
        try:
            return _ANSI.sub("", self.log_path.read_text(encoding="utf-8", errors="replace"))
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last ``lines`` lines of the log, for error messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])


CONFIG_PREFIXES = ("OPENAI_", "ASSISTANT_", "ASSISTANTS_")
"""Variables that configure the project; ``clean_env`` drops them so none leaks from a shell."""


def clean_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) without the project's configuration."""
    source = os.environ if base is None else base
    return {k: v for k, v in source.items() if not k.startswith(CONFIG_PREFIXES)}


def offline_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) plus the offline settings and ``extra``."""
    env = dict(os.environ if base is None else base)
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def prepare_workdir(workdir: Path, config: Path = REPO_CONFIG) -> Path:
    """Copy ``config`` (langgraph.json) into ``workdir``; returns the copy's path."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = workdir / "langgraph.json"
    shutil.copyfile(config, target)
    return target


def start_langgraph_dev(
    workdir: Path,
    env: Mapping[str, str],
    *,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    timeout: float = START_TIMEOUT_SECONDS,
) -> LanggraphDev:
    """Start ``langgraph dev --no-browser --no-reload`` in ``workdir`` and wait for ``/ok``.

    ``workdir`` must contain ``langgraph.json``. Raises :class:`LanggraphDevError` with the
    log tail if the process exits or does not answer within ``timeout`` seconds (it is
    stopped first).
    """
    command = [
        sys.executable,
        "-m",
        "langgraph_cli",
        "dev",
        "--no-browser",
        "--no-reload",
        "--port",
        str(port or free_port()),
        *extra_args,
    ]
    log_path = workdir / "langgraph-dev.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    dev = LanggraphDev(process=process, log_path=log_path, workdir=workdir)
    try:
        _wait_until_ready(dev, timeout)
    except BaseException:
        stop_langgraph_dev(dev)
        raise
    return dev


def _wait_until_ready(dev: LanggraphDev, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if dev.process.poll() is not None:
            raise LanggraphDevError(
                f"langgraph dev exited with code {dev.process.returncode} before it was "
                f"ready. Log tail:\n{dev.log_tail()}"
            )
        if not dev.url:
            match = _API_LINE.search(dev.log_text())
            if match:
                dev.url = match.group(1)
        if dev.url and _answers_ok(dev.url):
            return
        if time.monotonic() > deadline:
            raise LanggraphDevError(
                f"langgraph dev did not answer /ok within {timeout:.0f}s "
                f"(url: {dev.url or 'not announced yet'}). Log tail:\n{dev.log_tail()}"
            )
        time.sleep(0.2)


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass(frozen=True)
class Stopped:
    """How the server ended: its exit code and the signal that ended it (None: it had exited)."""

    returncode: int
    signal: signal.Signals | None


def stop_langgraph_dev(dev: LanggraphDev, timeout: float = STOP_TIMEOUT_SECONDS) -> Stopped:
    """Stop the server's process group: SIGINT, then SIGTERM, then SIGKILL.

    Each signal gets ``timeout`` seconds. Raises :class:`LanggraphDevError` if even SIGKILL
    does not end it.
    """
    used: signal.Signals | None = None
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if dev.process.poll() is not None:
            break
        try:
            os.killpg(dev.process.pid, sig)
        except ProcessLookupError:
            break
        used = sig
        try:
            dev.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        break
    if dev.process.poll() is None:
        raise LanggraphDevError(f"langgraph dev (pid {dev.process.pid}) did not exit.")
    _reap_group(dev.process.pid)
    return Stopped(dev.process.returncode, used)


def _reap_group(pgid: int) -> None:
    """Kill whatever the server left behind in its process group."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return


@contextmanager
def running_langgraph_dev(
    workdir: Path,
    env: Mapping[str, str],
    **kwargs: object,
) -> Iterator[LanggraphDev]:
    """``start_langgraph_dev`` … ``stop_langgraph_dev`` as a context manager."""
    dev = start_langgraph_dev(workdir, env, **kwargs)  # type: ignore[arg-type]
    try:
        yield dev
    finally:
        stop_langgraph_dev(dev)
