"""The run worker: executes runs in the background, one asyncio task per active run.

Life of a run: created ``queued`` (owned by the creating server instance) → the worker task
claims it, sets ``in_progress``, builds a :class:`ModelRequest` from the thread, calls the
backend once → either ``requires_action`` (tool calls; the task ends and a timer expires the
run after ``run_expiry_seconds``), or ``completed`` / ``incomplete`` / ``failed``. Submitting
tool outputs re-queues the run and wakes a new task. Cancel sets ``cancelling`` and cancels
the task, abandoning an in-flight model call.

Runs are woken directly (no polling for work). A heartbeat renews this instance's leases,
expires overdue runs and reclaims runs whose owner process is dead or whose lease lapsed, so
several processes can share one database without stealing each other's live runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import math
import os
import socket
import time
from collections import OrderedDict
from collections.abc import Coroutine
from typing import Any

from assistant_graph.assistants_server.backends.base import (
    ModelBackend,
    ModelError,
    ModelRequest,
    ModelTurn,
)
from assistant_graph.assistants_server.errors import APIError
from assistant_graph.assistants_server.events import STATUS_EVENTS, RunEventBus
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.prompt_budget import fit_prompt
from assistant_graph.assistants_server.schemas import BUILTIN_TOOL_TYPES
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.assistants_server.store import Attempt, Store

logger = logging.getLogger(__name__)

UNSUPPORTED_BUILTIN_MESSAGE = (
    "The run needs the {tool} tool, which this server's {backend} backend cannot execute. "
    "Declare a function tool and run the code locally instead, or configure a backend that "
    "supports {tool}."
)
FORCED_BUILTIN_MESSAGE = (
    "The run's tool_choice forces the {tool} tool, which this server's {backend} backend cannot "
    "execute. Use tool_choice 'auto' or force a function tool instead."
)
INTERRUPTED_MESSAGE = (
    "The server executing this run stopped before it finished, and the run could not be "
    "resumed: {reason}"
)
UNEXPECTED_ERROR_MESSAGE = "The server failed while executing the run ({error}); see its log."

LEASE_SECONDS = 30.0
HEARTBEAT_SECONDS = 5.0


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _text_of(content: list[dict[str, Any]]) -> str:
    return "".join(block["text"]["value"] for block in content if block.get("type") == "text")


def _chat_content(content: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """Assistants content blocks → Chat Completions content (string unless images)."""
    if all(block.get("type") == "text" for block in content):
        return _text_of(content)
    parts: list[dict[str, Any]] = []
    for block in content:
        if block.get("type") == "text":
            parts.append({"type": "text", "text": block["text"]["value"]})
        elif block.get("type") == "image_url":
            parts.append({"type": "image_url", "image_url": block["image_url"]})
        elif block.get("type") == "image_file":
            parts.append({"type": "text", "text": f"[image file {block['image_file']['file_id']}]"})
    return parts


CHAT_FORMS_ITEMS = 20_000
"""How many completed messages/steps keep their model-request form in memory (oldest dropped)."""


class ChatForms:
    """Model-request forms of completed messages and tool steps, by id.

    A completed message's content and a completed step's calls and outputs never change (only
    metadata can), so their converted form is reused by every later request of the thread.
    """

    def __init__(self, limit: int = CHAT_FORMS_ITEMS) -> None:
        self.limit = limit
        self._forms: OrderedDict[str, Any] = OrderedDict()

    def cached(self, object_id: str) -> Any:
        """Return the cached form of ``object_id``, or None (no build function: no allocation)."""
        return self._forms.get(object_id)

    def put(self, object_id: str, form: Any) -> Any:
        """Keep ``form`` for ``object_id`` (dropping the oldest beyond the limit); returns it."""
        self._forms[object_id] = form
        if len(self._forms) > self.limit:
            self._forms.popitem(last=False)
        return form


def _step_chat(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return a tool-calls step as an assistant message with its calls, then its tool messages."""
    chat: list[dict[str, Any]] = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call["id"],
                    "type": "function",
                    "function": {
                        "name": call["function"]["name"],
                        "arguments": call["function"]["arguments"],
                    },
                }
                for call in calls
            ],
        }
    ]
    for call in calls:
        chat.append(
            {
                "role": "tool",
                "tool_call_id": call["id"],
                "content": call["function"].get("output") or "",
            }
        )
    return chat


def _step_chat_of(step: Any) -> list[dict[str, Any]]:
    return _step_chat(step.data["step_details"]["tool_calls"])


def _message_chat(row: Any) -> dict[str, Any]:
    return {"role": row.role, "content": _chat_content(row.data.get("content", []))}


def _append_tool_round(chat: list[dict[str, Any]], step_chat: list[dict[str, Any]]) -> None:
    """Append a tool round; text the model wrote in the same turn joins its tool-call message.

    A model turn with text and tool calls is stored as a message plus a tool-calls step; the
    model produced one assistant message, so that is what it sees again (one assistant turn,
    ``content`` and ``tool_calls`` together). The cached forms are not modified.
    """
    calls_message, *tool_messages = step_chat
    previous = chat[-1] if chat else None
    if (
        previous is not None
        and previous.get("role") == "assistant"
        and "tool_calls" not in previous
        and calls_message.get("role") == "assistant"
        and not calls_message.get("content")
    ):
        chat[-1] = {**calls_message, "content": previous["content"]}
    else:
        chat.append(calls_message)
    chat.extend(tool_messages)


def build_chat_messages(
    instructions: str | None,
    additional_instructions: str | None,
    message_rows: list[Any],
    tool_steps: list[Any],
    forms: ChatForms | None = None,
) -> list[dict[str, Any]]:
    """Return the model's view of a thread.

    The system prompt comes first, then messages and tool round trips in order.

    Tool-call steps sit after the message that was latest when they were recorded; only steps
    whose outputs were all submitted are included (a call without a result is not valid chat).
    With ``forms``, completed messages and steps are converted once and then reused.
    """
    chat: list[dict[str, Any]] = []
    system = "\n\n".join(part for part in (instructions, additional_instructions) if part)
    if system:
        chat.append({"role": "system", "content": system})
    steps = [s for s in tool_steps if s.status == "completed"]
    step_count = len(steps)
    step_index = 0

    def add_step(step: Any) -> None:
        if forms is None:
            step_chat = _step_chat_of(step)
        else:
            step_chat = forms.cached(step.id)
            if step_chat is None:
                step_chat = forms.put(step.id, _step_chat_of(step))
        _append_tool_round(chat, step_chat)

    # One pass over a long thread per model request: kept free of per-row allocations.
    for row in message_rows:
        while step_index < step_count and steps[step_index].after_message_seq < row.seq:
            add_step(steps[step_index])
            step_index += 1
        status = row.status
        if status == "in_progress":
            continue
        if forms is not None and status == "completed":
            form = forms.cached(row.id)
            if form is None:
                form = forms.put(row.id, _message_chat(row))
            chat.append(form)
        else:
            chat.append(_message_chat(row))
    while step_index < step_count:
        add_step(steps[step_index])
        step_index += 1
    return chat


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
    ) -> None:
        self.store = store
        self.backend = backend
        self.settings = settings
        self.bus = bus
        self.instance_id = new_id("srv")
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.owner = f"{self.instance_id}:{self.pid}@{self.host}"
        self.heartbeat_seconds = heartbeat_seconds
        self.lease_seconds = lease_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        self._chores: set[asyncio.Task[Any]] = set()
        """Short background tasks (finishing a cancel, expiring a run), kept until done."""
        self._heartbeat: asyncio.Task[None] | None = None
        self._stopping = False
        self._chat_forms = ChatForms()

    @property
    def owner_claim(self) -> tuple[str, int, str, float]:
        """Owner columns for a run this instance is about to execute."""
        return (self.owner, self.pid, self.host, self.lease_seconds)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover runs left by stopped servers and start the heartbeat."""
        await self.expire_overdue()
        await self.reclaim_orphans()
        self._heartbeat = asyncio.create_task(self._heartbeat_loop(), name="run-worker-heartbeat")

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

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                owned = await self.store.renew_leases(self.owner, self.lease_seconds)
                for run_id, status in owned:
                    task = self._tasks.get(run_id)
                    if status == "cancelling" and task is not None:
                        task.cancel()
                await self.expire_overdue()
                await self.reclaim_orphans()
            except Exception:  # keep the heartbeat alive; the error is logged, not hidden
                logger.exception(
                    "Run worker heartbeat failed; retrying in %ss", self.heartbeat_seconds
                )

    # -- waking runs ----------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        """Whether this instance starts new work (False once stopping)."""
        return not self._stopping

    def submit(self, run_id: str, attempt: Attempt | None = None) -> None:
        """Start executing a queued run now.

        ``attempt`` is this instance's attempt at the run's next step, already begun by the
        write that queued the run (:meth:`Store.create_run`/``requeue_with_outputs`` with
        ``begin=True``); without one the task begins it. Without an attempt this is a no-op
        when this instance already runs the run; with one, the step runs after the run's
        current task ends.
        """
        if self._stopping:
            if attempt is not None:  # begun but not executed: let a restart take it over
                self._chore(self.store.release_run(run_id, self.owner), f"release-{run_id}")
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

    async def reclaim_orphans(self) -> None:
        """Resume runs whose owner is gone (dead pid on this host, or lease lapsed)."""
        now_f = time.time()
        for row in await self.store.orphan_candidates():
            if self.is_executing(row.id):
                continue
            if row.owner == self.owner:
                dead = True
            elif row.owner is None:
                dead = True
            elif row.owner_host == self.host and not _pid_alive(row.owner_pid):
                dead = True
            else:
                dead = row.lease_expires_at is not None and row.lease_expires_at < now_f
            if not dead:
                continue
            logger.info("Reclaiming run %s (previous owner %s)", row.id, row.owner)
            await self._reclaim(row.id, row.owner)

    async def _reclaim(self, run_id: str, previous_owner: str | None) -> None:
        dead = (previous_owner,) if previous_owner else ()
        if not await self.store.claim_run(
            run_id, self.owner, self.pid, self.host, self.lease_seconds, dead_owners=dead
        ):
            return
        self.submit(run_id)

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
        except APIError:  # the thread (and run) was deleted meanwhile
            logger.debug("Run %s is gone; nothing to expire", run_id)

    async def expire_overdue(self, thread_id: str | None = None) -> None:
        """Expire every run (of one thread) past its ``expires_at`` (any process may do this)."""
        for run_id in await self.store.overdue_runs(now(), thread_id):
            await self.expire_if_due(run_id)

    async def expire_if_due(self, run_id: str) -> dict[str, Any] | None:
        """Move a ``requires_action`` run past its deadline to ``expired``."""
        row = await self.store.run_row(run_id)
        if (
            row.status != "requires_action"
            or row.expires_at is None
            or row.expires_at > time.time()
        ):
            return None
        return await self._finish(run_id, "expired", ("requires_action",), "expired_at", None)

    async def refresh(self, run: dict[str, Any]) -> dict[str, Any]:
        """Return the run as clients should see it (expired when its deadline has passed)."""
        if (
            run["status"] == "requires_action"
            and run["expires_at"] is not None
            and run["expires_at"] <= now()
        ):
            return await self.expire_if_due(run["id"]) or await self.store.get("runs", run["id"])
        return run

    # -- ending runs ----------------------------------------------------------------------

    async def _finish(
        self,
        run_id: str,
        status: str,
        from_statuses: tuple[str, ...],
        step_time_field: str,
        last_error: dict[str, str] | None,
        **run_changes: Any,
    ) -> dict[str, Any] | None:
        """End a run: the run, its unfinished steps and messages, and their events."""
        stamp = now()
        time_field = {
            "expired": None,
            "cancelled": "cancelled_at",
            "failed": "failed_at",
        }.get(status)
        changes: dict[str, Any] = {"required_action": None, **run_changes}
        if time_field:
            changes[time_field] = stamp
        if last_error is not None:
            changes["last_error"] = last_error
        step_status = {"cancelled": "cancelled", "failed": "failed", "expired": "expired"}[status]
        step_changes: dict[str, Any] = {step_time_field: stamp}
        if status == "failed" and last_error is not None:
            step_changes["last_error"] = {
                "code": last_error["code"]
                if last_error["code"] != "invalid_prompt"
                else "server_error",
                "message": last_error["message"],
            }
        reason = {"cancelled": "run_cancelled", "failed": "run_failed", "expired": "run_expired"}[
            status
        ]
        run, steps, messages = await self.store.end_run(
            run_id,
            status,
            from_statuses,
            changes,
            step_status,
            step_changes,
            {"incomplete_at": stamp, "incomplete_details": {"reason": reason}},
        )
        if run is None:
            return None
        for step in steps:
            self.bus.publish(run_id, f"thread.run.step.{step_status}", step)
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
        return await self._finish(
            run_id,
            "failed",
            ("queued", "in_progress"),
            "failed_at",
            {"code": code, "message": message},
        )

    async def cancel(self, run_id: str) -> dict[str, Any] | None:
        """Request cancellation; returns the run in ``cancelling`` (None if not active).

        A run this instance executes has its task cancelled (the model call is abandoned);
        a queued or waiting run with no live executor is cancelled right away; a run another
        live process executes is cancelled by that process's heartbeat.
        """
        before = await self.store.run_row(run_id)
        run = await self.store.update_run(
            run_id, status="cancelling", only_if_status=("queued", "in_progress", "requires_action")
        )
        if run is None:
            return None
        self.bus.publish(run_id, "thread.run.cancelling", run)
        task = self._tasks.get(run_id)
        if task is not None and not task.done():
            task.cancel()
        elif (
            before.owner is None
            or before.owner == self.owner
            or (before.owner_host == self.host and not _pid_alive(before.owner_pid))
        ):
            self._chore(self.finish_cancel(run_id), f"finish-cancel-{run_id}")
        return run

    # -- executing ------------------------------------------------------------------------

    async def _execute_after(
        self, previous: asyncio.Task[None], run_id: str, attempt: Attempt
    ) -> None:
        await asyncio.wait({previous})  # its outcome is its own; only its end matters here
        await self._execute(run_id, attempt)

    async def _execute(self, run_id: str, attempt: Attempt | None = None) -> None:
        try:
            await self._execute_step(run_id, attempt)
        except asyncio.CancelledError:
            if self._stopping:
                await self.store.release_run(run_id, self.owner)
                raise
            await self.finish_cancel(run_id)
        except ModelError as exc:
            await self.fail(run_id, exc.code, exc.message)
        except Exception as exc:
            logger.exception("Run %s failed unexpectedly", run_id)
            await self.fail(
                run_id, "server_error", UNEXPECTED_ERROR_MESSAGE.format(error=type(exc).__name__)
            )

    async def _execute_step(self, run_id: str, attempt: Attempt | None = None) -> None:
        """Execute the run's next model step (``attempt``: begun already, in_progress published)."""
        if attempt is None:
            attempt = await self.store.begin_attempt(
                run_id, self.owner, self.pid, self.host, self.lease_seconds
            )
            if attempt is not None and attempt.moved_to_in_progress:
                self.bus.publish(run_id, "thread.run.in_progress", attempt.run)
        if attempt is None:
            return
        run = attempt.run
        if run["status"] == "cancelling":
            await self.finish_cancel(run_id)
            return

        forced = run.get("tool_choice")
        if isinstance(forced, dict) and forced.get("type") in BUILTIN_TOOL_TYPES:
            if forced["type"] not in self.backend.supported_builtin_tools:
                await self.fail(
                    run_id,
                    "invalid_prompt",
                    FORCED_BUILTIN_MESSAGE.format(tool=forced["type"], backend=self.backend.name),
                )
                return

        messages = build_chat_messages(
            run["instructions"],
            attempt.additional_instructions,
            attempt.message_rows,
            attempt.tool_steps,
            self._chat_forms,
        )
        max_prompt_tokens = run.get("max_prompt_tokens")
        if max_prompt_tokens is not None:
            fitted = fit_prompt(messages, max_prompt_tokens)
            if fitted is None:
                ended = await self.store.update_run(
                    run_id,
                    status="incomplete",
                    only_if_status=("in_progress",),
                    incomplete_details={"reason": "max_prompt_tokens"},
                )
                if ended is not None:
                    self.bus.publish(run_id, "thread.run.incomplete", ended)
                return
            messages = fitted
        request = ModelRequest(
            model=run["model"],
            messages=messages,
            tools=run["tools"],
            temperature=run.get("temperature"),
            top_p=run.get("top_p"),
            parallel_tool_calls=run.get("parallel_tool_calls", True),
            max_completion_tokens=run.get("max_completion_tokens"),
            tool_choice=run.get("tool_choice"),
            max_prompt_tokens=max_prompt_tokens,
        )
        writer = _MessageWriter(self, run)
        turn = await self.backend.complete(request, writer.on_text_delta)
        await self._record_turn(run, turn, writer)

    async def _record_turn(
        self, run: dict[str, Any], turn: ModelTurn, writer: _MessageWriter
    ) -> None:
        run_id = run["id"]
        for call in turn.tool_calls:
            if call.type != "function" and call.type not in self.backend.supported_builtin_tools:
                await self.fail(
                    run_id,
                    "invalid_prompt",
                    UNSUPPORTED_BUILTIN_MESSAGE.format(tool=call.type, backend=self.backend.name),
                )
                return
        usage = {
            "prompt_tokens": turn.usage.prompt_tokens,
            "completion_tokens": turn.usage.completion_tokens,
            "total_tokens": turn.usage.prompt_tokens + turn.usage.completion_tokens,
        }
        previous = run.get("usage") or {
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "total_tokens": 0,
        }
        run_usage = {key: previous[key] + usage[key] for key in usage}
        stamp = now()
        if turn.text and not writer.started:
            await writer.start()
        completes = not turn.tool_calls and not turn.incomplete_reason
        if writer.started:
            ended = await writer.finish(
                turn.text,
                turn.incomplete_reason,
                None if turn.tool_calls else usage,
                complete_run={"completed_at": stamp, "usage": run_usage} if completes else None,
            )
            if completes:
                if ended is not None:
                    self.bus.publish(run_id, "thread.run.completed", ended)
                return
        if turn.tool_calls:
            await self._request_tool_outputs(run, turn, usage, run_usage)
            return
        if turn.incomplete_reason:
            ended = await self.store.update_run(
                run_id,
                status="incomplete",
                only_if_status=("in_progress",),
                incomplete_details={"reason": turn.incomplete_reason},
                usage=run_usage,
            )
            if ended is not None:
                self.bus.publish(run_id, "thread.run.incomplete", ended)
            return
        ended = await self.store.update_run(
            run_id,
            status="completed",
            only_if_status=("in_progress",),
            completed_at=stamp,
            usage=run_usage,
        )
        if ended is not None:
            self.bus.publish(run_id, "thread.run.completed", ended)

    async def _request_tool_outputs(
        self,
        run: dict[str, Any],
        turn: ModelTurn,
        usage: dict[str, int],
        run_usage: dict[str, int],
    ) -> None:
        run_id = run["id"]
        calls: list[dict[str, Any]] = [
            {
                "id": new_id("call"),
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments, "output": None},
            }
            for c in turn.tool_calls
        ]
        expires_at = math.ceil(time.time() + self.settings.run_expiry_seconds)
        created, step, updated = await self.store.record_tool_calls(
            run,
            calls,
            usage,
            {
                "required_action": {
                    "type": "submit_tool_outputs",
                    "submit_tool_outputs": {
                        "tool_calls": [
                            {
                                "id": c["id"],
                                "type": "function",
                                "function": {
                                    "name": c["function"]["name"],
                                    "arguments": c["function"]["arguments"],
                                },
                            }
                            for c in calls
                        ]
                    },
                },
                "expires_at": expires_at,
                "usage": run_usage,
            },
        )
        self.bus.publish(run_id, "thread.run.step.created", created)
        self.bus.publish(run_id, "thread.run.step.in_progress", created)
        self.bus.publish(
            run_id,
            "thread.run.step.delta",
            {
                "id": step["id"],
                "object": "thread.run.step.delta",
                "delta": {
                    "step_details": {
                        "type": "tool_calls",
                        "tool_calls": [{"index": i, **call} for i, call in enumerate(calls)],
                    }
                },
            },
        )
        if updated is not None:
            self.bus.publish(run_id, "thread.run.requires_action", updated)
            self.schedule_expiry(run_id, expires_at)


class _MessageWriter:
    """Creates the run's assistant message on its first text and streams deltas into it."""

    def __init__(self, worker: RunWorker, run: dict[str, Any]) -> None:
        self.worker = worker
        self.run = run
        self.started = False
        self.message: dict[str, Any] | None = None
        self.step: dict[str, Any] | None = None

    async def start(self) -> None:
        bus, run = self.worker.bus, self.run
        message, step = await self.worker.store.start_assistant_message(run)
        self.message, self.step, self.started = message, step, True
        bus.publish(run["id"], "thread.run.step.created", step)
        bus.publish(run["id"], "thread.run.step.in_progress", step)
        bus.publish(run["id"], "thread.message.created", message)
        bus.publish(run["id"], "thread.message.in_progress", message)

    async def on_text_delta(self, text: str) -> None:
        if not text:
            return
        if not self.started:
            await self.start()
        assert self.message is not None
        self.worker.bus.publish(
            self.run["id"],
            "thread.message.delta",
            {
                "id": self.message["id"],
                "object": "thread.message.delta",
                "delta": {
                    "content": [
                        {"index": 0, "type": "text", "text": {"value": text, "annotations": []}}
                    ]
                },
            },
        )

    async def finish(
        self,
        text: str,
        incomplete_reason: str | None,
        usage: dict[str, int] | None,
        complete_run: dict[str, Any] | None = None,
    ) -> dict[str, Any] | None:
        """Store the final text; with ``complete_run`` (run changes) also complete the run.

        Returns the completed run (None without ``complete_run`` or when the run had already
        left ``in_progress``); publishing its event is the caller's job.
        """
        assert self.message is not None and self.step is not None
        bus, run_id = self.worker.bus, self.run["id"]
        stamp = now()
        content = [{"type": "text", "text": {"value": text, "annotations": []}}]
        if incomplete_reason:
            status = "incomplete"
            changes: dict[str, Any] = {
                "content": content,
                "incomplete_at": stamp,
                "incomplete_details": {"reason": "max_tokens"},
            }
        else:
            status = "completed"
            changes = {"content": content, "completed_at": stamp}
        message, step, run = await self.worker.store.finish_assistant_message(
            self.message["id"],
            self.step["id"],
            status,
            changes,
            {"completed_at": stamp, "usage": usage},
            (run_id, complete_run) if complete_run is not None else None,
        )
        bus.publish(run_id, f"thread.message.{status}", message)
        bus.publish(run_id, "thread.run.step.completed", step)
        return run


def tool_outputs_text(value: Any) -> str:
    """Tool output as text (the API stores strings)."""
    return value if isinstance(value, str) else json.dumps(value)
