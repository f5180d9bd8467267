"""What one assistant step does, written once and without I/O (see ``graph.assistant_node``).

:func:`step_plan` is a generator over the step's effects — :class:`Call` (the runnable's
``invoke`` with a payload), :class:`Retrieve` (read a run), :class:`Cancel` (cancel a run and
wait until it stopped), :class:`Respond` (wait for a run that is underway and take its result)
— that the node's sync and async drivers carry out.

Tool outputs go straight to the run awaiting them when this node saw that run reach
``requires_action`` (``known_waiting``): the tools ran in between, nothing else. Otherwise (a
resume in a new process, a step re-run after an error) the run is read first, so tool outputs
reach a run exactly once — if the run already moved on, its result is taken; if it expired, a
new run on the same thread gets a user message carrying the tool results. A direct submit the
endpoint refuses (the run changed meanwhile) falls back to that read.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

from assistant_graph.graph.convert import (
    expired_results_text,
    response_to_update,
    run_ended_to_update,
)
from assistant_graph.graph.errors import (
    MISSING_TOOL_OUTPUTS,
    InvalidInputError,
    RunEndedError,
    RunGoneError,
)
from assistant_graph.graph.planning import NewTurn, Step, SubmitToolOutputs
from assistant_graph.graph.run_response import WAITING_STATUSES

logger = logging.getLogger(__name__)

SUBMIT_REFUSED = "Submit to run %s refused (%s); reading the run and continuing from it."
"""Logged when a run seen in requires_action no longer takes the tool outputs."""
ALREADY_SUBMITTED = "Run %s took the tool outputs before a restart (now %s); taking its result."
"""Logged when a re-run step finds that its submit went through."""
EXPIRED = "Run %s expired before its tool outputs were submitted; starting a new run."


@dataclass(frozen=True)
class Call:
    """Invoke the runnable with ``payload``; gives its output (raises RunEndedError)."""

    payload: dict[str, Any]


@dataclass(frozen=True)
class Retrieve:
    """Read a run; gives the run."""

    thread_id: str
    run_id: str


@dataclass(frozen=True)
class Cancel:
    """Cancel a run (Idempotency-Key base ``key``) and wait until it stopped."""

    thread_id: str
    run_id: str
    key: str


@dataclass(frozen=True)
class Respond:
    """Wait for a run that is underway; gives its output (raises RunEndedError)."""

    run: Any


Effect = Call | Retrieve | Cancel | Respond
StepPlan = Generator[Effect, Any, dict[str, Any]]


def step_plan(
    step: Step, thread_id: str, key: str, base_url: str, *, known_waiting: bool
) -> StepPlan:
    """Yield the effects of one step; return the state update."""
    import openai

    if isinstance(step, NewTurn):
        if step.stale_run_id and thread_id:
            yield from _cancel_stale(thread_id, step.stale_run_id, key)
        payload: dict[str, Any] = {"content": step.content, "idempotency_key": key}
        if thread_id:
            payload["thread_id"] = thread_id
        return (yield from _update(Call(payload)))
    if known_waiting:
        payload = _submit_payload(thread_id, step.run_id, step, key)
        try:
            return (yield from _update(Call(payload)))
        except (openai.BadRequestError, openai.ConflictError, openai.NotFoundError) as exc:
            logger.info(SUBMIT_REFUSED, step.run_id, exc)
    try:
        run = yield Retrieve(thread_id, step.run_id)
    except openai.NotFoundError as exc:
        raise RunGoneError(step.run_id, thread_id, base_url.rstrip("/")) from exc
    if run.status == "requires_action" and not _outputs_taken(run, step):
        required = _required_call_ids(run)
        missing = sorted(required - {r.call_id for r in step.results})
        if missing:
            raise InvalidInputError(MISSING_TOOL_OUTPUTS.format(call_ids=missing, run_id=run.id))
        payload = _submit_payload(run.thread_id, run.id, step, key, required)
        return (yield from _update(Call(payload)))
    if run.status == "expired":
        logger.warning(EXPIRED, step.run_id)
        payload = {
            "thread_id": thread_id,
            "content": expired_results_text(step.results),
            "idempotency_key": f"{key}:expired",
        }
        return (yield from _update(Call(payload)))
    # The submit went through before a crash: take the run's result (the answer, or the
    # tool calls of its next step).
    logger.info(ALREADY_SUBMITTED, run.id, run.status)
    return (yield from _update(Respond(run)))


def _update(effect: Call | Respond) -> StepPlan:
    """Return the state update for the runnable's output (a run ended badly: a message)."""
    try:
        response = yield effect
    except RunEndedError as exc:
        logger.warning("%s", exc)
        return run_ended_to_update(exc)
    return response_to_update(response)


def _cancel_stale(thread_id: str, run_id: str, key: str) -> StepPlan:
    """Cancel a run an abandoned turn left waiting, so the thread takes a new run."""
    import openai

    try:
        run = yield Retrieve(thread_id, run_id)
    except openai.NotFoundError:
        return {}
    if run.status == "requires_action" or run.status in WAITING_STATUSES:
        try:
            yield Cancel(thread_id, run_id, f"{key}:stale")
        except openai.BadRequestError as exc:  # it stopped by itself meanwhile
            logger.info("Run %s could not be cancelled: %s", run_id, exc)
    return {}


def _required_call_ids(run: Any) -> set[str]:
    return {call.id for call in run.required_action.submit_tool_outputs.tool_calls}


def _outputs_taken(run: Any, step: SubmitToolOutputs) -> bool:
    """Whether the run took these tool outputs already and now awaits those of a later step.

    A step re-run after a crash can find the run in ``requires_action`` again, for tool calls
    none of which the step answered: its submit went through before the crash.
    """
    return not _required_call_ids(run) & {r.call_id for r in step.results}


def _submit_payload(
    thread_id: str,
    run_id: str,
    step: SubmitToolOutputs,
    key: str,
    only: set[str] | None = None,
) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "run_id": run_id,
        "tool_outputs": step.tool_outputs(only),
        "idempotency_key": key,
    }
