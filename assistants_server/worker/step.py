"""Model steps of a run: attempt → prompt → backend → the turn's outcome, stored.

:func:`execute_step` begins the attempt (unless the write that queued the run already did),
builds the prompt from the thread, calls the backend once while streaming its text into the
run's message, and records what the model returned: calls of tools the server executes
(``code_interpreter``) run as their own step (:mod:`.tool_loop`) and the model is called
again with their results; function calls then move the run to ``requires_action`` (and
schedule its expiry), text completes it, a length cut makes it ``incomplete``. Failures are
the caller's (:class:`~.runner.RunWorker`) to record.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.backends.base import (
    ModelRequest,
    ModelTurn,
    ToolCallRequest,
)
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.prompt_budget import fit_prompt
from assistant_graph.assistants_server.schemas import BUILTIN_TOOL_TYPES
from assistant_graph.assistants_server.store import Attempt, leases, run_progress
from assistant_graph.assistants_server.worker.prompt import build_chat_messages
from assistant_graph.assistants_server.worker.tool_loop import run_server_calls
from assistant_graph.assistants_server.worker.writer import MessageWriter

if TYPE_CHECKING:
    from assistant_graph.assistants_server.worker.runner import RunWorker

UNSUPPORTED_BUILTIN_MESSAGE = (
    "The run needs the {tool} tool, which this server's {backend} backend cannot execute. "
    "Declare a function tool and run the code locally instead, or configure a backend that "
    "supports {tool}."
)
TOO_MANY_ROUNDS_MESSAGE = (
    "The model called server-side tools {rounds} times in a row without answering, so the run "
    "was stopped. Ask a narrower question or split the task into several runs."
)
MAX_SERVER_TOOL_ROUNDS = 24
"""Model turns in a row that may end in server-side tool calls before a run is stopped."""
FORCED_BUILTIN_MESSAGE = (
    "The run's tool_choice forces the {tool} tool, which this server's {backend} backend cannot "
    "execute. Use tool_choice 'auto' or force a function tool instead."
)


async def _end_incomplete(worker: RunWorker, run_id: str, **changes: Any) -> None:
    ended = await worker.store.write(
        run_progress.update_run,
        run_id,
        status="incomplete",
        only_if_status=("in_progress",),
        **changes,
    )
    if ended is not None:
        worker.bus.publish(run_id, "thread.run.incomplete", ended)


async def execute_step(worker: RunWorker, run_id: str, attempt: Attempt | None) -> None:
    """Execute the run's model steps until it waits, ends, or fails.

    ``attempt``: the first step's, begun already (in_progress published). After a turn whose
    server-side tool calls ran, a new attempt reads the thread again and the model is called
    with their results.
    """
    for _ in range(MAX_SERVER_TOOL_ROUNDS):
        if not await _execute_one(worker, run_id, attempt):
            return
        attempt = None
    message = TOO_MANY_ROUNDS_MESSAGE.format(rounds=MAX_SERVER_TOOL_ROUNDS)
    await worker.fail(run_id, "server_error", message)


async def _execute_one(worker: RunWorker, run_id: str, attempt: Attempt | None) -> bool:
    """One model step; whether the model must be called again (server-side tools ran)."""
    if attempt is None:
        attempt = await worker.store.write(
            leases.begin_attempt, run_id, worker.lease, worker.store.history
        )
        if attempt is not None and attempt.moved_to_in_progress:
            worker.bus.publish(run_id, "thread.run.in_progress", attempt.run)
    if attempt is None:
        return False
    run = attempt.run
    if run["status"] == "cancelling":
        await worker.finish_cancel(run_id)
        return False
    backend = worker.backend
    forced = run.get("tool_choice")
    if isinstance(forced, dict) and forced.get("type") in BUILTIN_TOOL_TYPES:
        if forced["type"] not in backend.supported_builtin_tools:
            message = FORCED_BUILTIN_MESSAGE.format(tool=forced["type"], backend=backend.name)
            await worker.fail(run_id, "invalid_prompt", message)
            return False
    messages = build_chat_messages(
        run["instructions"],
        attempt.additional_instructions,
        attempt.message_rows,
        attempt.tool_steps,
    )
    max_prompt_tokens = run.get("max_prompt_tokens")
    if max_prompt_tokens is not None:
        fitted = fit_prompt(messages, max_prompt_tokens)
        if fitted is None:
            await _end_incomplete(
                worker, run_id, incomplete_details={"reason": "max_prompt_tokens"}
            )
            return False
        messages = fitted
    request = ModelRequest(
        model=run["model"],
        messages=messages,
        tools=await _offered_tools(worker, run),
        temperature=run.get("temperature"),
        top_p=run.get("top_p"),
        parallel_tool_calls=run.get("parallel_tool_calls", True),
        max_completion_tokens=run.get("max_completion_tokens"),
        tool_choice=run.get("tool_choice"),
        max_prompt_tokens=max_prompt_tokens,
    )
    writer = MessageWriter(worker.store, worker.bus, run)
    turn = await backend.complete(request, writer.on_text_delta)
    return await _record_turn(worker, run, turn, writer)


async def _offered_tools(worker: RunWorker, run: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the run's tools the model is offered: server-side ones only when of use.

    A ``file_search`` with no files to search is left out (unless ``tool_choice`` forces it),
    so the model answers instead of searching nothing.
    """
    forced = run.get("tool_choice")
    forced_type = forced.get("type") if isinstance(forced, dict) else None
    offered = []
    for tool in run["tools"]:
        server_tool = worker.server_tools.get(tool.get("type", ""))
        if (
            server_tool is not None
            and tool["type"] != forced_type
            and not await server_tool.offered(worker.store, run)
        ):
            continue
        offered.append(tool)
    return offered


async def _record_turn(
    worker: RunWorker, run: dict[str, Any], turn: ModelTurn, writer: MessageWriter
) -> bool:
    """Store the turn; whether the model must be called again (server-side tools ran)."""
    run_id = run["id"]
    backend = worker.backend
    for call in turn.tool_calls:
        if call.type != "function" and (
            call.type not in backend.supported_builtin_tools or call.type not in worker.server_tools
        ):
            message = UNSUPPORTED_BUILTIN_MESSAGE.format(tool=call.type, backend=backend.name)
            await worker.fail(run_id, "invalid_prompt", message)
            return False
    server_calls = [c for c in turn.tool_calls if c.type != "function"]
    function_calls = [c for c in turn.tool_calls if c.type == "function"]
    usage = {
        "prompt_tokens": turn.usage.prompt_tokens,
        "completion_tokens": turn.usage.completion_tokens,
        "total_tokens": turn.usage.prompt_tokens + turn.usage.completion_tokens,
    }
    previous = run.get("usage") or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    run_usage = {key: previous[key] + usage[key] for key in usage}
    stamp = now()
    completes = not turn.tool_calls and not turn.incomplete_reason
    if not writer.started and (turn.text or (completes and await writer.has_tool_outputs())):
        await writer.start()
    if writer.started:
        ended = await writer.finish(
            turn.text,
            turn.incomplete_reason,
            None if turn.tool_calls else usage,
            complete_run={"completed_at": stamp, "usage": run_usage} if completes else None,
        )
        if completes:
            if ended is not None:
                worker.bus.publish(run_id, "thread.run.completed", ended)
            return False
    if server_calls:
        if not await run_server_calls(worker, run, server_calls, usage, run_usage):
            return False
        if not function_calls:
            return True
        usage = dict.fromkeys(usage, 0)  # the model call is counted on the server-side step
    if function_calls:
        await _request_tool_outputs(worker, run, function_calls, usage, run_usage)
        return False
    if turn.incomplete_reason:
        await _end_incomplete(
            worker,
            run_id,
            incomplete_details={"reason": turn.incomplete_reason},
            usage=run_usage,
        )
        return False
    ended = await worker.store.write(
        run_progress.update_run,
        run_id,
        status="completed",
        only_if_status=("in_progress",),
        completed_at=stamp,
        usage=run_usage,
    )
    if ended is not None:
        worker.bus.publish(run_id, "thread.run.completed", ended)
    return False


async def _request_tool_outputs(
    worker: RunWorker,
    run: dict[str, Any],
    function_calls: list[ToolCallRequest],
    usage: dict[str, int],
    run_usage: dict[str, int],
) -> None:
    """Store the turn's tool calls as a step; the run waits for their outputs until it expires."""
    run_id = run["id"]
    calls: list[dict[str, Any]] = [
        {
            "id": new_id("call"),
            "type": "function",
            "function": {"name": c.name, "arguments": c.arguments, "output": None},
        }
        for c in function_calls
    ]
    expires_at = math.ceil(time.time() + worker.settings.run_expiry_seconds)
    required = [
        {
            "id": c["id"],
            "type": "function",
            "function": {"name": c["function"]["name"], "arguments": c["function"]["arguments"]},
        }
        for c in calls
    ]
    created, step, updated = await worker.store.write(
        run_progress.record_tool_calls,
        run,
        calls,
        usage,
        {
            "required_action": {
                "type": "submit_tool_outputs",
                "submit_tool_outputs": {"tool_calls": required},
            },
            "expires_at": expires_at,
            "usage": run_usage,
        },
    )
    bus = worker.bus
    bus.publish(run_id, "thread.run.step.created", created)
    bus.publish(run_id, "thread.run.step.in_progress", created)
    delta_calls = [{"index": i, **call} for i, call in enumerate(calls)]
    bus.publish(
        run_id,
        "thread.run.step.delta",
        {
            "id": step["id"],
            "object": "thread.run.step.delta",
            "delta": {"step_details": {"type": "tool_calls", "tool_calls": delta_calls}},
        },
    )
    if updated is not None:
        bus.publish(run_id, "thread.run.requires_action", updated)
        worker.schedule_expiry(run_id, expires_at)
