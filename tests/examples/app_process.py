"""Run the example FastAPI service (``examples/fastapi_app/app.py``) as a real subprocess.

The service runs in its own process group, from a working directory outside the repository,
with the project's configuration removed from its environment (so the graph uses the
embedded server with the offline model). Its output goes to a log file shown on failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PATH = REPO_ROOT / "examples" / "fastapi_app" / "app.py"
CONFIG_PREFIXES = ("OPENAI_", "ASSISTANT_", "ASSISTANTS_")
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0


class AppProcessError(RuntimeError):
    """The service did not start or stop as expected; the message has its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_env(home: Path) -> dict[str, str]:
    """This process's environment without the project's settings, data dir ``home``, offline."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
    env.update(ASSISTANT_GRAPH_HOME=str(home), LANGSMITH_TRACING="false")
    return env


@dataclass
class AppProcess:
    """A running service."""

    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        """The end of the service's output."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def start_app(db_path: Path | str, home: Path, workdir: Path) -> AppProcess:
    """Start the service on a free port with conversations in ``db_path``; wait for /healthz."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"app-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(APP_PATH), "--db", str(db_path), "--port", str(port)],
            cwd=workdir,
            env=app_env(home),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    app = AppProcess(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise AppProcessError(
                f"The app exited with code {process.returncode}. Log tail:\n{app.log_tail()}"
            )
        try:
            if httpx.get(f"{app.url}/healthz", timeout=2).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_app(app)
            raise AppProcessError(f"The app did not answer /healthz. Log tail:\n{app.log_tail()}")
        time.sleep(0.1)


def stop_app(app: AppProcess) -> int:
    """SIGINT (then SIGKILL) to the service's process group; returns its exit code."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        if app.process.poll() is not None:
            break
        try:
            os.killpg(app.process.pid, sig)
        except ProcessLookupError:
            break
        try:
            app.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            continue
    if app.process.poll() is None:
        raise AppProcessError(f"The app (pid {app.process.pid}) did not exit.")
    return app.process.returncode
