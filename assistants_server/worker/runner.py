"""The run worker: executes runs in the background, one asyncio task per active run.

Life of a run: the request that creates it (or submits its tool outputs) queues it, claims it
for this instance and begins its first attempt in the same transaction, then calls
:meth:`RunWorker.submit`, which starts a task. The task executes one model step
(:mod:`.step`; calls of tools the server executes itself run in between, :mod:`.tool_loop`):
the run ends ``requires_action`` (tool calls; a timer expires it after
``run_expiry_seconds``), ``completed``, ``incomplete`` or ``failed``. Submitting tool outputs
re-queues the run and starts a new task. Cancel sets ``cancelling`` and cancels the task,
abandoning an in-flight model call; the task's end moves the run to ``cancelled``.

Runs are woken directly (no polling for work). The heartbeat (:mod:`.leases`) renews this
instance's leases and takes over runs of dead processes; on stop, runs in flight are
released (not failed) so a restart resumes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Coroutine, Iterable
from typing import Any

from assistant_graph.assistants_server.backends.base import ModelBackend, ModelError
from assistant_graph.assistants_server.events import STATUS_EVENTS, RunEventBus
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.assistants_server.store import (
    Attempt,
    Lease,
    NotFound,
    Store,
    leases,
    run_progress,
    runs,
)
from assistant_graph.assistants_server.worker.leases import (
    heartbeat_loop,
    pid_alive,
    reclaim_orphans,
)
from assistant_graph.assistants_server.worker.server_tools import ServerTool, ToolUnavailable
from assistant_graph.assistants_server.worker.step import execute_step

logger = logging.getLogger(__name__)

UNEXPECTED_ERROR_MESSAGE = "The server failed while executing the run ({error}); see its log."

LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0

_END_REASONS = {"cancelled": "run_cancelled", "failed": "run_failed", "expired": "run_expired"}
_END_TIME_FIELDS = {"cancelled": "cancelled_at", "failed": "failed_at", "expired": None}


class RunWorker:
    """Executes runs for one server instance (on the server's event loop)."""

    def __init__(
        self,
        store: Store,
        backend: ModelBackend,
        settings: ServerSettings,
        bus: RunEventBus,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
        lease_seconds: float = LEASE_SECONDS,
        server_tools: Iterable[ServerTool] = (),
    ) -> None:
        self.store = store
        self.backend = backend
        self.settings = settings
        self.bus = bus
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.owner = f"{new_id('srv')}:{self.pid}@{self.host}"
        self.heartbeat_seconds = heartbeat_seconds
        self.server_tools: dict[str, ServerTool] = {tool.type: tool for tool in server_tools}
        """Built-in tools this instance executes itself, by type (see :mod:`.tool_loop`)."""
        self.lease = Lease(self.owner, self.pid, self.host, lease_seconds)
        """The owner columns of runs this instance executes."""
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        self._chores: set[asyncio.Task[Any]] = set()
        """Short background tasks (finishing a cancel, expiring a run), kept until done."""
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover runs left by stopped servers and start the heartbeat."""
        await self.expire_overdue()
        await reclaim_orphans(self)
        self._heartbeat = asyncio.create_task(heartbeat_loop(self), name="run-worker-heartbeat")

    async def stop(self) -> None:
        """Stop executing; runs in flight are released (not failed) so a restart resumes them."""
        self._stopping = True
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        for timer in self._expiry_timers.values():
            timer.cancel()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._chores:
            await asyncio.gather(*self._chores, return_exceptions=True)

    def _chore(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        """Run a short background coroutine; its failure is logged."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._chores.add(task)

        def done(finished: asyncio.Task[Any]) -> None:
            self._chores.discard(finished)
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("%s failed", name, exc_info=finished.exception())

        task.add_done_callback(done)

    # -- waking runs ----------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether this instance starts new work (False once stopping)."""
        return not self._stopping

    def submit(self, run_id: str, attempt: Attempt | None = None) -> None:
        """Start executing a queued run now.

        ``attempt`` is this instance's attempt at the run's next step, already begun by the
        write that queued the run (``store.runs.create_run``/``requeue_with_outputs`` with
        ``begin=True``); without one the task begins it. Without an attempt this is a no-op
        when this instance already runs the run; with one, the step runs after the run's
        current task ends.
        """
        if self._stopping:
            if attempt is not None:  # begun but not executed: let a restart take it over
                release = self.store.write(leases.release_run, run_id, self.owner)
                self._chore(release, f"release-{run_id}")
            return
        if attempt is not None and attempt.moved_to_in_progress:
            # Published now, so a stream opened for the request that queued the run sends it
            # in the same write as its first events.
            self.bus.publish(run_id, "thread.run.in_progress", attempt.run)
        existing = self._tasks.get(run_id)
        if existing is not None and not existing.done():
            if attempt is None:
                return
            coroutine = self._execute_after(existing, run_id, attempt)
        else:
            coroutine = self._execute(run_id, attempt)
        task = asyncio.get_running_loop().create_task(coroutine, name=f"run-{run_id}")
        self._tasks[run_id] = task
        task.add_done_callback(functools.partial(self._task_done, run_id))

    def _task_done(self, run_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(run_id) is task:
            del self._tasks[run_id]
        if task.cancelled() and not self._stopping:
            # Cancelled before it ever ran (e.g. cancel right after create), or cancelled
            # again while finishing the cancel.
            self._chore(self.finish_cancel(run_id), f"finish-cancel-{run_id}")

    def is_executing(self, run_id: str) -> bool:
        """Whether this instance has a live task for the run."""
        task = self._tasks.get(run_id)
        return task is not None and not task.done()

    def cancel_task(self, run_id: str) -> bool:
        """Cancel the run's live task here, if any; whether there was one."""
        task = self._tasks.get(run_id)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    # -- executing ------------------------------------------------------------------------

    async def _execute_after(
        self, previous: asyncio.Task[None], run_id: str, attempt: Attempt
    ) -> None:
        await asyncio.wait({previous})  # its outcome is its own; only its end matters here
        await self._execute(run_id, attempt)

    async def _execute(self, run_id: str, attempt: Attempt | None = None) -> None:
        try:
            await execute_step(self, run_id, attempt)
        except asyncio.CancelledError:
            if self._stopping:
                await self.store.write(leases.release_run, run_id, self.owner)
                raise
            await self.finish_cancel(run_id)
        except (ModelError, ToolUnavailable) as exc:
            await self.fail(run_id, exc.code, exc.message)
        except Exception as exc:
            logger.exception("Run %s failed unexpectedly", run_id)
            await self.fail(
                run_id, "server_error", UNEXPECTED_ERROR_MESSAGE.format(error=type(exc).__name__)
            )

    # -- expiry ---------------------------------------------------------------------------

    def schedule_expiry(self, run_id: str, expires_at: int) -> None:
        """Expire the run when its time to receive tool outputs is up."""
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time()) + 0.05
        previous = self._expiry_timers.pop(run_id, None)
        if previous is not None:
            previous.cancel()
        self._expiry_timers[run_id] = loop.call_later(delay, self._expire_timer, run_id)

    def _expire_timer(self, run_id: str) -> None:
        self._expiry_timers.pop(run_id, None)
        self._chore(self._expire_quietly(run_id), f"expire-{run_id}")

    async def _expire_quietly(self, run_id: str) -> None:
        try:
            await self.expire_if_due(run_id)
        except NotFound:  # the thread (and run) was deleted meanwhile
            logger.debug("Run %s is gone; nothing to expire", run_id)

    async def expire_overdue(self, thread_id: str | None = None) -> None:
        """Expire every run (of one thread) past its ``expires_at`` (any process may do this)."""
        for run_id in await self.store.read(runs.overdue_runs, now(), thread_id):
            await self.expire_if_due(run_id)

    async def expire_if_due(self, run_id: str) -> dict[str, Any] | None:
        """Move a ``requires_action`` run past its deadline to ``expired``."""
        row = await self.store.read(runs.run_row, run_id)
        if row.status != "requires_action" or row.expires_at is None:
            return None
        if row.expires_at > time.time():
            return None
        return await self._finish(run_id, "expired", ("requires_action",), "expired_at", None)

    async def refresh(self, run: dict[str, Any]) -> dict[str, Any]:
        """Return the run as clients should see it (expired when its deadline has passed)."""
        if (
            run["status"] == "requires_action"
            and run["expires_at"] is not None
            and run["expires_at"] <= now()
        ):
            expired = await self.expire_if_due(run["id"])
            return expired or await self.store.read(runs.get_run_by_id, run["id"])
        return run

    # -- ending runs ----------------------------------------------------------------------

    async def _finish(
        self,
        run_id: str,
        status: str,
        from_statuses: tuple[str, ...],
        step_time_field: str,
        last_error: dict[str, str] | None,
    ) -> dict[str, Any] | None:
        """End a run: the run, its unfinished steps and messages, and their events."""
        stamp = now()
        changes: dict[str, Any] = {"required_action": None}
        time_field = _END_TIME_FIELDS[status]
        if time_field:
            changes[time_field] = stamp
        if last_error is not None:
            changes["last_error"] = last_error
        step_changes: dict[str, Any] = {step_time_field: stamp}
        if status == "failed" and last_error is not None:
            code = last_error["code"]
            step_changes["last_error"] = {
                "code": code if code != "invalid_prompt" else "server_error",
                "message": last_error["message"],
            }
        reason = _END_REASONS[status]
        run, steps, messages = await self.store.write(
            run_progress.end_run,
            run_id,
            status,
            from_statuses,
            changes,
            status,
            step_changes,
            {"incomplete_at": stamp, "incomplete_details": {"reason": reason}},
        )
        if run is None:
            return None
        for step in steps:
            self.bus.publish(run_id, f"thread.run.step.{status}", step)
        for message in messages:
            self.bus.publish(run_id, "thread.message.incomplete", message)
        self.bus.publish(run_id, STATUS_EVENTS[status], run)
        timer = self._expiry_timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()
        return run

    async def finish_cancel(self, run_id: str) -> dict[str, Any] | None:
        """Move a ``cancelling`` run to ``cancelled``."""
        return await self._finish(run_id, "cancelled", ("cancelling",), "cancelled_at", None)

    async def fail(self, run_id: str, code: str, message: str) -> dict[str, Any] | None:
        """End an executing run ``failed`` with ``last_error``."""
        error = {"code": code, "message": message}
        return await self._finish(run_id, "failed", ("queued", "in_progress"), "failed_at", error)

    async def cancel(self, run_id: str) -> dict[str, Any] | None:
        """Request cancellation; returns the run in ``cancelling`` (None if not active).

        A run this instance executes has its task cancelled (the model call is abandoned);
        a queued or waiting run with no live executor is cancelled right away; a run another
        live process executes is cancelled by that process's heartbeat.
        """
        before = await self.store.read(runs.run_row, run_id)
        run = await self.store.write(
            run_progress.update_run,
            run_id,
            status="cancelling",
            only_if_status=("queued", "in_progress", "requires_action"),
        )
        if run is None:
            return None
        self.bus.publish(run_id, "thread.run.cancelling", run)
        if self.cancel_task(run_id):
            return run
        if (
            before.owner is None
            or before.owner == self.owner
            or (before.owner_host == self.host and not pid_alive(before.owner_pid))
        ):
            self._chore(self.finish_cancel(run_id), f"finish-cancel-{run_id}")
        return run
