"""Server-side tool calls of a model turn: record, stream, execute, store — one step.

When the model asks for built-in tools the server executes (:class:`~.server_tools.ServerTool`),
:func:`run_server_calls` records them as one ``tool_calls`` step and streams it with the
spec's events: ``thread.run.step.created`` and ``in_progress``, a ``thread.run.step.delta``
with every call's input, the calls executed one after another, then (after the outputs, the
files they produced and the step's completion are stored in one transaction) a delta with
the outputs and ``thread.run.step.completed``. The run worker then calls the model again with
the results (:mod:`.step`). The events show ``file_search`` result content only when the run
asked for it (``include[]``, :mod:`~assistants_server.store.step_include`). A crash while the
calls execute leaves the step ``in_progress``; the run's next attempt marks it ``failed`` and
asks the model's turn again (``store.tool_steps.fail_interrupted_steps``): a step is never
``completed`` half-done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.ids import new_id
from assistant_graph.assistants_server.store import tool_steps
from assistant_graph.assistants_server.store.step_include import (
    run_include,
    shown_calls,
    shown_step,
)

if TYPE_CHECKING:
    from assistant_graph.assistants_server.worker.runner import RunWorker


def _delta(step_id: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": step_id,
        "object": "thread.run.step.delta",
        "delta": {"step_details": {"type": "tool_calls", "tool_calls": calls}},
    }


async def run_server_calls(
    worker: RunWorker,
    run: dict[str, Any],
    requests: list[ToolCallRequest],
    usage: dict[str, int],
    run_usage: dict[str, int],
) -> bool:
    """Execute the server-side ``requests`` of a turn as one step; whether it completed.

    False means the run left ``in_progress`` meanwhile (nothing more to do for this turn).
    Raises :class:`~.server_tools.ToolUnavailable` when a tool cannot execute at all.
    """
    run_id = run["id"]
    tools = worker.server_tools
    calls = [tools[r.type].new_call(new_id("call"), r) for r in requests]
    started = await worker.store.write(tool_steps.start_server_step, run, calls, usage)
    if started is None:
        return False
    created, step = started
    bus = worker.bus
    bus.publish(run_id, "thread.run.step.created", created)
    bus.publish(run_id, "thread.run.step.in_progress", created)
    bus.publish(
        run_id,
        "thread.run.step.delta",
        _delta(step["id"], [{"index": i, **call} for i, call in enumerate(calls)]),
    )
    savers = [await tools[call["type"]].execute(worker.store, run, call) for call in calls]
    done = await worker.store.write(
        tool_steps.complete_server_step, run_id, step["id"], savers, run_usage
    )
    if done is None:
        return False
    completed, saved = done
    include = await worker.store.read(run_include, run_id)
    outputs = [
        {
            "index": i,
            "id": s.call["id"],
            "type": s.call["type"],
            s.call["type"]: tools[s.call["type"]].output_delta(s.call),
        }
        for i, s in enumerate(saved)
    ]
    bus.publish(run_id, "thread.run.step.delta", _delta(step["id"], shown_calls(outputs, include)))
    bus.publish(run_id, "thread.run.step.completed", shown_step(completed, include))
    return True
