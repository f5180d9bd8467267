"""Interpreter sessions by key: one sandboxed kernel each, ended when idle or evicted.

The caller scopes keys (the Assistants thread id). A session's calls run one at a time;
different sessions run concurrently. Sessions unused for ``idle_seconds`` end (a background
sweep, and a check before each call), and starting one beyond ``max_sessions`` ends the least
recently used idle one first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from assistant_graph.assistants_server.interpreter.config import InterpreterSettings
from assistant_graph.assistants_server.interpreter.kernel import KernelSession, KernelStartError
from assistant_graph.assistants_server.interpreter.results import (
    FILE_NOT_WRITTEN,
    STRAYS_ENDED,
    ExecutionResult,
    WorkspaceFile,
)
from assistant_graph.assistants_server.interpreter.sandbox import (
    SESSION_UIDS,
    check_sandbox,
    running_as_root,
)
from assistant_graph.assistants_server.interpreter.workspace import Workspace, check_names
from assistant_graph.assistants_server.settings import ServerSettings

SWEEP_SECONDS = 30.0
logger = logging.getLogger(__name__)


@dataclass
class _Session:
    workspace: Workspace
    kernel: KernelSession | None = None
    last_used: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ended: bool = False


class InterpreterPool:
    """Stateful sandboxed Python sessions, keyed by the caller's session key.

    A pool belongs to the event loop that first uses it (its locks and idle sweep live
    there); call :meth:`aclose` on that loop when done.
    """

    def __init__(self, settings: InterpreterSettings | ServerSettings) -> None:
        """Configure the pool; nothing starts until the first :meth:`execute`."""
        if isinstance(settings, ServerSettings):
            settings = InterpreterSettings.from_server(settings)
        self.settings = settings
        self._sessions: OrderedDict[str, _Session] = OrderedDict()
        self._lock = asyncio.Lock()
        self._names = itertools.count()
        self._root: Path | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._available = False

    def check_available(self) -> None:
        """Raise :class:`SandboxUnavailable` if kernels cannot run as configured."""
        if not self._available:
            check_sandbox(self.settings)
            self._available = True

    async def execute(
        self, session_key: str, code: str, files: Sequence[WorkspaceFile] = ()
    ) -> ExecutionResult:
        """Write ``files`` to the session's /mnt/data, run ``code`` there, return what it gave."""
        check_names(files)
        await asyncio.to_thread(self.check_available)
        session = await self._session(session_key)
        async with session.lock:
            if session.kernel is None:
                try:
                    session.kernel = await self._start(session)
                except KernelStartError as exc:
                    await self._end(session_key, session)
                    return ExecutionResult(logs="", error=str(exc))
            workspace = session.workspace
            try:
                await asyncio.to_thread(workspace.put, files)
            except OSError as exc:
                return ExecutionResult(logs="", error=FILE_NOT_WRITTEN.format(reason=exc))
            before = await asyncio.to_thread(workspace.snapshot)
            outcome = await session.kernel.execute(code)
            if outcome.error is not None and not outcome.kernel_lost:
                strays = await asyncio.to_thread(session.kernel.end_strays)
                if strays:  # e.g. a fork bomb's copies: its kernel cannot be trusted either
                    error = outcome.error + STRAYS_ENDED.format(count=strays)
                    outcome = replace(outcome, error=error, kernel_lost=True)
            changed = await asyncio.to_thread(workspace.changed_since, before)
            session.last_used = asyncio.get_running_loop().time()
        if outcome.kernel_lost:
            await self._end(session_key, session)
        return ExecutionResult(
            logs=outcome.logs, images=outcome.images, files=changed, error=outcome.error
        )

    async def end_session(self, session_key: str) -> None:
        """End the session now (its kernel, variables and files)."""
        session = self._sessions.get(session_key)
        if session is not None:
            await self._end(session_key, session)

    async def aclose(self) -> None:
        """End every session and remove the pool's directories."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for key, session in list(self._sessions.items()):
            await self._end(key, session)
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    async def _session(self, key: str) -> _Session:
        loop = asyncio.get_running_loop()
        async with self._lock:
            if self._sweeper is None:
                self._sweeper = asyncio.create_task(self._sweep())
            session = self._sessions.get(key)
            if session is not None and self._expired(session, loop.time()):
                await self._end(key, session)
                session = None
            if session is None:
                while len(self._sessions) >= self.settings.max_sessions:
                    idle = [k for k, s in self._sessions.items() if not s.lock.locked()]
                    victim = idle[0] if idle else next(iter(self._sessions))
                    await self._end(victim, self._sessions[victim])
                session = self._new_session()
                self._sessions[key] = session
            session.last_used = loop.time()
            self._sessions.move_to_end(key)
            return session

    def _new_session(self) -> _Session:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="agi-"))
        own_uid = self.settings.sandbox == "bwrap" and running_as_root()
        uid = SESSION_UIDS.acquire() if own_uid else None
        return _Session(Workspace(self._root / f"s{next(self._names)}", uid))

    async def _start(self, session: _Session) -> KernelSession:
        kernel = KernelSession(self.settings, session.workspace)
        await kernel.start()
        return kernel

    def _expired(self, session: _Session, now: float) -> bool:
        return not session.lock.locked() and now - session.last_used > self.settings.idle_seconds

    async def _end(self, key: str, session: _Session) -> None:
        if self._sessions.get(key) is session:
            del self._sessions[key]
        if session.ended:
            return
        session.ended = True
        kernel, session.kernel = session.kernel, None
        if kernel is not None:
            await kernel.stop()
        await asyncio.to_thread(session.workspace.remove)
        if session.workspace.uid is not None:
            SESSION_UIDS.release(session.workspace.uid)

    async def _sweep(self) -> None:
        interval = min(SWEEP_SECONDS, self.settings.idle_seconds / 2)
        while True:
            await asyncio.sleep(interval)
            now = asyncio.get_running_loop().time()
            async with self._lock:
                for key, session in list(self._sessions.items()):
                    if self._expired(session, now):
                        try:
                            await self._end(key, session)
                        except Exception:  # keep sweeping the other sessions
                            logger.exception("Ending an idle interpreter session failed")
