"""One session's Jupyter kernel: start it in its sandbox, run code under the limits, stop it.

jupyter-client does the protocol: a kernelspec (written into the session's directory) holds
the sandboxed command, ``AsyncKernelManager`` starts and kills the process, and the client's
``execute_interactive`` runs code and hands each output message to a hook.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from assistant_graph.assistants_server.interpreter.config import InterpreterSettings
from assistant_graph.assistants_server.interpreter.results import (
    KERNEL_DIED,
    RESTARTED,
    START_FAILED,
    TIMED_OUT,
    TRUNCATED,
)
from assistant_graph.assistants_server.interpreter.sandbox import (
    bwrap_command,
    kernel_environment,
    unsandboxed_command,
)
from assistant_graph.assistants_server.interpreter.workspace import Workspace
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

KERNEL_NAME = "sandbox"
START_TIMEOUT = 60.0
"""Seconds a new kernel may take to answer (several start at once on a busy machine)."""
INTERRUPT_GRACE = 5.0
"""Seconds an interrupted execution may take to stop before the kernel is killed."""
POLL = 0.25
MAX_ERROR_CHARS = 500
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SIGNALS = {
    signal.SIGXCPU: "CPU time limit of {cpu} s",
    signal.SIGKILL: "killed",
    signal.SIGSEGV: "segmentation fault",
}


class KernelStartError(RuntimeError):
    """The kernel process did not come up; the message says how it ended."""


@dataclass
class Outcome:
    """What the kernel sent back for one execution."""

    logs: str
    images: list[bytes]
    error: str | None
    kernel_lost: bool = False
    """The kernel was killed or died: the session must start afresh."""


@dataclass
class _Collector:
    limit: int
    parts: list[str] = field(default_factory=list)
    size: int = 0
    dropped: int = 0
    images: list[bytes] = field(default_factory=list)

    def add(self, text: str) -> None:
        data = text.encode()
        room = self.limit - self.size
        if len(data) > room:
            self.dropped += len(data) - max(room, 0)
            data = data[: max(room, 0)]
        if data:
            self.parts.append(data.decode(errors="ignore"))
            self.size += len(data)

    def hook(self, message: dict[str, Any]) -> None:
        kind = message["header"]["msg_type"]
        content = message["content"]
        if kind == "stream":
            self.add(content["text"])
        elif kind == "error":
            self.add(ANSI.sub("", "\n".join(content["traceback"])) + "\n")
        elif kind in ("display_data", "execute_result"):
            data = content.get("data", {})
            if "image/png" in data:
                self.images.append(base64.b64decode(data["image/png"]))
            elif "text/plain" in data:
                self.add(data["text/plain"] + "\n")

    def logs(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += TRUNCATED.format(extra=self.dropped, limit=self.limit)
        return text


class KernelSession:
    """A started kernel in its sandbox, bound to one workspace."""

    def __init__(self, settings: InterpreterSettings, workspace: Workspace) -> None:
        """Prepare (do not start) the kernel of ``workspace``'s session."""
        self.settings = settings
        self.workspace = workspace
        self.manager = self._manager()
        self.client: Any = None

    def _manager(self) -> AsyncKernelManager:
        settings, workspace = self.settings, self.workspace
        if settings.sandbox == "bwrap":
            uid = workspace.uid if workspace.uid is not None else 0
            argv = bwrap_command(
                settings, workspace=workspace.data, socket_dir=workspace.run, uid=uid
            )
        else:
            argv = unsandboxed_command(settings)
        spec_dir = workspace.root / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True, exist_ok=True)
        # Interrupts go as control messages: a signal to the bwrap process would not reach
        # the kernel, which runs in its own session inside the sandbox.
        spec = {
            "argv": argv,
            "display_name": "code interpreter",
            "language": "python",
            "interrupt_mode": "message",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        specs = KernelSpecManager(kernel_dirs=[str(workspace.root / "kernels")])
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
        manager.transport = "ipc"
        manager.ip = str(workspace.run / "k")
        manager.connection_file = str(workspace.run / "connection.json")
        return manager

    async def start(self) -> None:
        """Start the kernel and wait until it answers; raise :class:`KernelStartError`."""
        manager, workspace = self.manager, self.workspace
        manager.write_connection_file()
        workspace.give(workspace.run / "connection.json")
        home = workspace.root / "home"
        home.mkdir(exist_ok=True)
        env = kernel_environment(self.settings.kernel_python(), str(home))
        with open(workspace.root / "kernel.log", "ab") as log:
            await manager.start_kernel(
                env=env, cwd=str(workspace.data), stdout=subprocess.DEVNULL, stderr=log
            )
        self.client = manager.client()
        self.client.start_channels()
        try:
            await self.client.wait_for_ready(timeout=START_TIMEOUT)
        except RuntimeError as exc:
            reason = await self._death_reason()
            await self.stop()
            log = (workspace.root / "kernel.log").read_text(errors="replace").strip()
            last = log.splitlines()[-1] if log else str(exc)
            raise KernelStartError(START_FAILED.format(reason=reason, last=last)) from None

    async def execute(self, code: str) -> Outcome:
        """Run ``code`` under the wall-clock limit; interrupt it, or kill the kernel, past it."""
        output = _Collector(self.settings.output_bytes)
        run = asyncio.ensure_future(
            self.client.execute_interactive(
                code, allow_stdin=False, output_hook=output.hook, timeout=None
            )
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.wall_seconds
        while not run.done() and loop.time() < deadline:
            await asyncio.wait({run}, timeout=min(POLL, max(deadline - loop.time(), 0)))
            if not run.done() and not await self.manager.is_alive():
                run.cancel()
                reason = await self._death_reason()
                died = KERNEL_DIED.format(reason=reason)
                return Outcome(output.logs(), output.images, died, kernel_lost=True)
        if run.done():
            return self._finished(run, output)
        timed_out = TIMED_OUT.format(seconds=self.settings.wall_seconds)
        await self.manager.interrupt_kernel()
        await asyncio.wait({run}, timeout=INTERRUPT_GRACE)
        if run.done():
            return Outcome(output.logs(), output.images, timed_out)
        run.cancel()
        return Outcome(output.logs(), output.images, timed_out + RESTARTED, kernel_lost=True)

    def _finished(self, run: asyncio.Future[Any], output: _Collector) -> Outcome:
        if run.exception() is not None:  # the channel broke: start afresh
            reason = KERNEL_DIED.format(reason=f"no answer: {run.exception()}")
            return Outcome(output.logs(), output.images, reason, kernel_lost=True)
        reply = run.result()["content"]
        error = None
        if reply.get("status") == "error":
            error = f"{reply.get('ename')}: {reply.get('evalue')}"[:MAX_ERROR_CHARS]
        return Outcome(output.logs(), output.images, error)

    async def _death_reason(self) -> str:
        provisioner = self.manager.provisioner
        status = await provisioner.poll() if provisioner is not None else None
        if status is None:
            return "no answer"
        number = -status if status < 0 else status - 128
        try:
            name = SIGNALS[signal.Signals(number)]
        except (ValueError, KeyError):
            return f"exit status {status}"
        return name.format(cpu=self.settings.cpu_seconds)

    def end_strays(self) -> int:
        """Kill the processes the session's code left behind (a fork bomb's copies), not the kernel.

        Only where each session runs as a uid of its own (a root server): every process of that
        uid except the oldest, which is the kernel. Returns how many were killed.
        """
        uid = self.workspace.uid
        if uid is None or self.settings.sandbox != "bwrap":
            return 0
        killed = 0
        for _ in range(STRAY_ROUNDS):  # copies still running may fork again in between
            strays = _processes_of(uid)[1:]
            for pid in strays:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            if not strays:
                break
            time.sleep(STRAY_PAUSE)  # let the killed ones die (or be seen forking again)
        return killed

    async def stop(self) -> None:
        """Kill the kernel and everything in its sandbox."""
        if self.client is not None:
            self.client.stop_channels()
        if self.manager.has_kernel:
            await self.manager.shutdown_kernel(now=True)
        await self.manager.cleanup_resources()


STRAY_ROUNDS = 100
"""How many times :meth:`KernelSession.end_strays` looks again for processes left running."""
STRAY_PAUSE = 0.02
"""Seconds between two of its looks (a killed process takes a moment to end)."""


def _processes_of(uid: int) -> list[int]:
    """Return the pids of the live (not zombie) processes of ``uid``, oldest first."""
    processes = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # it ended meanwhile
        if fields[0] != b"Z":
            processes.append((int(fields[19]), int(entry.name)))  # start time, pid
    return [pid for _, pid in sorted(processes)]
