"""The I/O-free core of one runnable call: what to send, what the stream said, what to do next.

A call (start a run, or submit tool outputs) is written once, as a generator (:func:`call_plan`)
that yields effects — :class:`Start` (POST the request with ``stream=True`` and feed every
event to the :class:`StreamTracker`), :class:`Poll` (the SDK's ``runs.poll``),
:class:`ListMessages`, :class:`ListSteps` — and receives their results. The sync and async
drivers in ``graph.runnable`` only carry the effects out, so both paths behave alike:

* the run is streamed to ``requires_action`` or a terminal state; its latest step's messages
  come from the stream's ``thread.message.completed`` events (no extra request);
* when the stream did not show the whole step (a replayed POST answered with the run as JSON, a
  stream that joined the run midway, or a completed run whose stream carried no completed
  message) the messages are read: ``messages.list(run_id=...)``, plus the run's steps when tool
  outputs may have been submitted to it. A completed run never yields an invented empty answer;
* a stream cut while the run is queued or in progress is not a reason to give up on the run:
  the core re-attaches (polls the run) and continues. A cut before the stream named its run
  is raised; running the step again replays the same ``Idempotency-Key`` and re-attaches then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from assistant_graph.graph.errors import RUN_STREAM_EMPTY, RunStreamError
from assistant_graph.graph.run_response import (
    ANSWERING_STATUSES,
    WAITING_STATUSES,
    has_answer,
    latest_step_messages,
    raise_run_ended,
    response_with_messages,
)
from assistant_graph.graph.server_steps import latest_server_steps, server_step

logger = logging.getLogger(__name__)

STEP_START_EVENTS = frozenset({"thread.run.created", "thread.run.queued"})
"""Run events sent before a model step begins (a new run; a run re-queued by a submit)."""
STEPS_PAGE = 100
"""Run steps read (newest first) to find which messages belong to the latest model step."""
MESSAGES_PAGE = 100
"""Messages of one run read at most (a model step writes a handful)."""
REATTACHING = "The event stream of run %s broke while it was %s (%s); re-attaching to the run."

TextDeltaHandler = Callable[[str], None]
MessageDeltaHandler = Callable[[str, str], Any]
"""Called with (Assistants message id, text) per delta; may return an awaitable (async path)."""


def idempotency_headers(base: str | None, role: str) -> dict[str, str] | None:
    """``extra_headers`` carrying ``Idempotency-Key: <base>:<role>``, or None without a base."""
    if not base:
        return None
    return {"Idempotency-Key": f"{base}:{role}"}


# ------------------------------------------------------------------ requests


@dataclass(frozen=True)
class RunRequest:
    """One streamed POST: which SDK method (``kind``) and its keyword arguments."""

    kind: str
    """``submit_tool_outputs`` (runs), ``create`` (runs) or ``create_and_run`` (threads)."""
    kwargs: dict[str, Any]

    @property
    def submits(self) -> bool:
        """Whether the request hands tool outputs to an existing run."""
        return self.kind == "submit_tool_outputs"


def plan_request(input: dict, assistant_id: str) -> RunRequest:
    """Build the POST for a runnable input (upstream's keys plus ``idempotency_key``)."""
    key = input.get("idempotency_key")
    if "tool_outputs" in input:
        return RunRequest(
            "submit_tool_outputs",
            {
                "run_id": input["run_id"],
                "thread_id": input["thread_id"],
                "tool_outputs": input["tool_outputs"],
                "extra_headers": idempotency_headers(key, "submit"),
            },
        )
    if input.get("thread_id"):
        # The user's message and the run in one request (one transaction server-side).
        return RunRequest(
            "create",
            {
                "thread_id": input["thread_id"],
                "assistant_id": assistant_id,
                "additional_messages": [_user_message(input)],
                "extra_headers": idempotency_headers(key, "run"),
            },
        )
    thread: dict[str, Any] = {"messages": [_user_message(input)]}
    if input.get("thread_metadata"):
        thread["metadata"] = input["thread_metadata"]
    return RunRequest(
        "create_and_run",
        {
            "assistant_id": assistant_id,
            "thread": thread,
            "extra_headers": idempotency_headers(key, "thread_run"),
        },
    )


def _user_message(input: dict) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": input["content"]}
    if input.get("message_metadata"):
        message["metadata"] = input["message_metadata"]
    return message


# ------------------------------------------------------------------- effects


@dataclass(frozen=True)
class Start:
    """POST ``request`` streamed; feed its events (or its replayed JSON run) to the tracker."""

    request: RunRequest


@dataclass(frozen=True)
class Poll:
    """Wait for the run to leave the waiting statuses (the SDK's ``runs.poll``); gives the run."""

    run_id: str
    thread_id: str


@dataclass(frozen=True)
class ListMessages:
    """Read the messages the run created, oldest first; gives a list."""

    run_id: str
    thread_id: str


@dataclass(frozen=True)
class ListSteps:
    """Read the run's steps, newest first; gives a list."""

    run_id: str
    thread_id: str


Effect = Start | Poll | ListMessages | ListSteps
Plan = Generator[Effect, Any, Any]


def is_transport_failure(exc: BaseException) -> bool:
    """Whether ``exc`` means the connection failed (not that the endpoint refused a request)."""
    import httpx2
    import openai

    if isinstance(exc, openai.APIStatusError):
        return False
    return isinstance(exc, openai.APIError | httpx2.TransportError)


# -------------------------------------------------------------------- stream


@dataclass
class StreamTracker:
    """Follows a run's typed event stream: the latest run, its messages, the text deltas.

    The messages the stream created are kept (their ids in order, and their final form from
    ``thread.message.completed``): when the stream saw the run start (``created``) or be queued
    again (after a submit) and stop, they are exactly the messages of its latest model step.
    """

    on_delta: TextDeltaHandler
    on_message_delta: MessageDeltaHandler | None = None
    on_server_step: Callable[[dict[str, Any]], Any] | None = None
    """Called with each completed server-side step as it streams (the async path awaits what
    it returns); the CLI shows the code it ran before the answer."""
    may_have_submits: bool = False
    """Whether the run may have had tool outputs submitted before its latest step."""
    run: Any = None
    """The run as of its latest event (None before any run event)."""
    stopped_in_stream: bool = False
    """Whether the run's final status (for this call) came from the stream."""
    saw_step_start: bool = False
    """Whether the stream saw the run before its latest model step began."""
    server_steps: list[dict[str, Any]] = field(default_factory=list)
    """Completed steps of tools the server ran itself (``code_interpreter``), as streamed."""
    _message_ids: list[str] = field(default_factory=list)
    _completed: dict[str, Any] = field(default_factory=dict)

    def replayed(self, run: Any) -> None:
        """Take the run a call answered as JSON (a replayed POST): no events to follow."""
        self.run = run
        self.may_have_submits = True  # the run may have moved on since the original POST
        self.stopped_in_stream = False

    def polled(self, run: Any) -> None:
        """Take the run as polled after the stream ended (its events were not all seen)."""
        self.run = run
        self.stopped_in_stream = False

    def observe(self, event: Any) -> Any:
        """Take in one ``AssistantStreamEvent``; returns what ``on_message_delta`` returned."""
        name, data = event.event, event.data
        if name.startswith("thread.run.") and not name.startswith("thread.run.step."):
            self.run = data
            self.stopped_in_stream = data.status not in WAITING_STATUSES
            if name in STEP_START_EVENTS:
                self.saw_step_start = True
        elif name == "thread.message.delta":
            self._saw_message(data.id)
            values = [
                part.text.value
                for part in data.delta.content or []
                if part.type == "text" and part.text is not None and part.text.value
            ]
            for value in values:
                self.on_delta(value)
            if values and self.on_message_delta is not None:
                return self.on_message_delta(data.id, "".join(values))
        elif name == "thread.message.created":
            self._saw_message(data.id)
        elif name == "thread.run.step.completed":
            step = server_step(data)
            if step is not None:
                self.server_steps.append(step)
                if self.on_server_step is not None:
                    return self.on_server_step(step)
        elif name in ("thread.message.completed", "thread.message.incomplete"):
            self._saw_message(data.id)
            self._completed[data.id] = data
        return None

    def _saw_message(self, message_id: str) -> None:
        if message_id not in self._completed and message_id not in self._message_ids:
            self._message_ids.append(message_id)

    def step_messages(self) -> list[Any] | None:
        """Return the messages of the run's latest step as streamed, or None if it can't tell.

        None when the stream did not see the run from before its latest step to its stop, when
        a message it created did not arrive in its final form, or when it shows a completed
        run without any answer message; the caller then reads them from the endpoint.
        """
        if not (self.saw_step_start and self.stopped_in_stream):
            return None
        if any(message_id not in self._completed for message_id in self._message_ids):
            return None
        messages = [self._completed[i] for i in self._message_ids]
        if self.run.status == "completed" and not has_answer(messages):
            return None
        return messages

    def require_run(self) -> Any:
        """Return the run the stream was about, or :class:`RunStreamError` if it never said."""
        if self.run is None:
            raise RunStreamError(RUN_STREAM_EMPTY.format(detail="no run event"))
        return self.run


# --------------------------------------------------------------------- plans


def call_plan(request: RunRequest, tracker: StreamTracker) -> Plan:
    """Send ``request``, follow the run to a stop and return the runnable's output."""
    try:
        yield Start(request)
    except Exception as exc:
        run = tracker.run
        if run is None or not is_transport_failure(exc):
            raise
        if run.status in WAITING_STATUSES:
            logger.warning(REATTACHING, run.id, run.status, exc)
            tracker.polled((yield Poll(run.id, run.thread_id)))
        else:  # the run stopped in the stream; only its messages may be missing
            tracker.stopped_in_stream = False
    return (yield from response_plan(tracker.require_run(), tracker))


def response_plan(run: Any, tracker: StreamTracker | None = None) -> Plan:
    """Wait for a run that is underway, then build its actions or finish (see module doc)."""
    if run.status in WAITING_STATUSES:
        run = yield Poll(run.id, run.thread_id)
        if tracker is not None:
            tracker.polled(run)
    if run.status not in ANSWERING_STATUSES:
        raise_run_ended(run)
    messages = tracker.step_messages() if tracker is not None else None
    server_steps = tracker.server_steps if tracker is not None else []
    if messages is None:
        messages = yield ListMessages(run.id, run.thread_id)
        if tracker is None or tracker.may_have_submits:
            steps = yield ListSteps(run.id, run.thread_id)
            messages = latest_step_messages(messages, steps)
            server_steps = latest_server_steps(steps)
    return response_with_messages(run, messages, server_steps)
