"""``OpenAIAssistantV2Runnable`` with the fixes the graph needs.

The stock runnable (langchain-community 0.4) is used as the assistant node's agent; this
subclass changes what it gets wrong for a graph that runs many turns on one thread:

* the async client keeps the sync client's ``base_url`` and headers (upstream builds a bare
  ``AsyncOpenAI(api_key=...)`` that talks to the public host);
* ``ainvoke`` uses only the async client (upstream lists messages with the sync client,
  blocking the event loop);
* runs are streamed (``stream=True``) to ``requires_action`` or a terminal state, so waiting
  adds no idle ``check_every_ms`` latency; when a run cannot be streamed, polling honours the
  server's ``openai-poll-after-ms`` header;
* a step's result carries only the messages of that model step: the answer of a completed run
  is the text written after its last tool-output submit (not the text of earlier steps), and
  tool calls carry the text the model wrote alongside them (``AssistantStepAction.log`` and
  ``message_ids``). A streamed step takes them from the stream's ``thread.message.completed``
  events (no extra request); a run read without its stream lists that run's messages
  (``messages.list(run_id=...)``, one request, never the whole thread) and, when tool outputs
  may have been submitted to it, its steps (to tell which messages the latest step made);
* runs ending ``failed``/``cancelled``/``expired``/``incomplete`` raise :class:`RunEndedError`
  with the run's ``last_error`` message, not a dump of the run object;
* every POST can carry an ``Idempotency-Key`` (``input["idempotency_key"]`` + the call's role),
  so a retried or resumed request is not executed twice;
* a run this runnable started is cancelled if waiting for it fails, so the thread is never left
  blocked by an active run;
* a run that reaches ``requires_action`` is remembered for a moment (``graph.recent_runs``),
  so the step that submits its tool outputs need not read it again.

Text deltas of a streamed run are passed, as they arrive, to ``on_text_delta(text)`` and
``on_message_delta(message_id, text)`` (keyword arguments of ``invoke``/``ainvoke``; on the
async path ``on_message_delta`` may be a coroutine function, awaited before the next event), and
to the callback run manager's ``on_text``.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import time
from collections.abc import Callable, Iterable
from json import JSONDecodeError
from typing import Any, NoReturn, Self

import openai
from assistant_graph.graph.errors import (
    INVALID_TOOL_ARGUMENTS,
    RUN_STREAM_EMPTY,
    RunEndedError,
    RunStreamError,
)
from assistant_graph.graph.recent_runs import recent_runs
from assistant_graph.graph.run_stream import aiter_events, iter_events
from langchain_classic.agents.openai_assistant.base import (
    OpenAIAssistantAction,
    OpenAIAssistantFinish,
)
from langchain_community.agents.openai_assistant.base import OpenAIAssistantV2Runnable
from langchain_core.callbacks import AsyncCallbackManager, CallbackManager
from langchain_core.load import dumpd
from langchain_core.runnables import RunnableConfig, ensure_config
from openai.types.beta.threads import Message, Run
from pydantic import Field, model_validator

logger = logging.getLogger(__name__)

TextDeltaHandler = Callable[[str], None]
MessageDeltaHandler = Callable[[str, str], Any]
"""Called with (Assistants message id, text) per delta; may return an awaitable (async path)."""

WAITING_STATUSES = frozenset({"queued", "in_progress", "cancelling"})
"""Statuses of a run that will change without the client doing anything."""
FAILED_STATUSES = frozenset({"failed", "cancelled", "expired", "incomplete"})
"""Terminal statuses that carry no answer."""
FIRST_POLL_MS = 20.0
"""First polling interval when the server sends no ``openai-poll-after-ms`` (doubles up to
``check_every_ms``)."""
ANSWERING_STATUSES = frozenset({"completed", "requires_action"})
"""Statuses of a run whose latest step has a result (an answer, or tool calls)."""
STEP_START_EVENTS = frozenset({"thread.run.created", "thread.run.queued"})
"""Run events sent before a model step begins (a new run; a run re-queued by a submit)."""
STEPS_PAGE = 100
"""Run steps read (newest first) to find which messages belong to the latest model step."""
RAW_ARGUMENTS_KEY = "_unparsed_arguments"
"""Key under which arguments that are not valid JSON are handed to the tool (whose validation
then reports them to the model as a tool error)."""


def idempotency_headers(base: str | None, role: str) -> dict[str, str] | None:
    """``extra_headers`` carrying ``Idempotency-Key: <base>:<role>``, or None without a base."""
    if not base:
        return None
    return {"Idempotency-Key": f"{base}:{role}"}


def tool_call_message_id(run_id: str, tool_call_ids: Iterable[str]) -> str:
    """Stable id of the AI message holding one ``requires_action`` round of a run."""
    digest = hashlib.sha256("\n".join(tool_call_ids).encode()).hexdigest()[:12]
    return f"{run_id}-calls-{digest}"


def describe_run_end(run: Any) -> str:
    """Why a run ended without an answer: its ``last_error`` or ``incomplete_details``."""
    last_error = getattr(run, "last_error", None)
    if last_error is not None:
        code = getattr(last_error, "code", "") or ""
        message = getattr(last_error, "message", "") or ""
        return f"{message} ({code})" if code and message else message or code
    incomplete = getattr(run, "incomplete_details", None)
    if incomplete is not None and getattr(incomplete, "reason", None):
        return f"incomplete: {incomplete.reason}"
    return ""


class AssistantStepAction(OpenAIAssistantAction):
    """A tool call of a run step, with what the model wrote in that same step.

    ``log`` holds the step's text (e.g. "Let me compute that."; empty when the model only called
    tools) and ``message_ids`` the Assistants messages that text is in, so the caller can keep
    the text and give it the id its streamed deltas carried.
    """

    message_ids: list[str] = Field(default_factory=list)


class AssistantRunnable(OpenAIAssistantV2Runnable):
    """Runs an assistant on an Assistants v2 endpoint as a LangChain agent (see module doc).

    Input dict keys (as upstream): ``content`` (new user message), ``thread_id``, ``run_id`` +
    ``tool_outputs`` (submit), plus ``idempotency_key`` (base of the ``Idempotency-Key``
    headers of the POSTs this call makes).
    """

    as_agent: bool = True

    @model_validator(mode="after")
    def _validate_async_client(self) -> Self:
        """Replace the base class's validator, which builds a bare ``AsyncOpenAI(api_key)``."""
        self._ensure_async_client()
        return self

    @model_validator(mode="after")
    def validate_async_client(self) -> Self:
        """Build a missing async client aimed at the sync client's endpoint and headers."""
        self._ensure_async_client()
        return self

    def _ensure_async_client(self) -> None:
        if self.async_client is None:
            self.async_client = openai.AsyncOpenAI(
                api_key=self.client.api_key,
                base_url=self.client.base_url,
                default_headers=dict(self.client._custom_headers),
            )

    # ------------------------------------------------------------------ sync

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Start or continue a run and return actions (tool calls) or the finish (answer)."""
        config = ensure_config(config)
        callback_manager = CallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        run_manager = callback_manager.on_chain_start(
            dumpd(self), input, name=config.get("run_name") or self.get_name()
        )
        user_handler: TextDeltaHandler | None = kwargs.get("on_text_delta")

        def on_delta(text: str) -> None:
            run_manager.on_text(text)
            if user_handler is not None:
                user_handler(text)

        try:
            run, tracker = self._start_run(input, on_delta, kwargs.get("on_message_delta"))
            response = self._get_response(run, tracker)
        except BaseException as e:
            run_manager.on_chain_error(e)
            raise
        run_manager.on_chain_end(response)
        return response

    def _start_run(
        self,
        input: dict,
        on_delta: TextDeltaHandler,
        on_message_delta: MessageDeltaHandler | None = None,
    ) -> tuple[Any, _StreamTracker]:
        key = input.get("idempotency_key")
        runs = self.client.beta.threads.runs
        if "tool_outputs" in input:
            stream = runs.submit_tool_outputs(
                input["run_id"],
                thread_id=input["thread_id"],
                tool_outputs=input["tool_outputs"],
                stream=True,
                extra_headers=idempotency_headers(key, "submit"),
            )
            started = False
        elif input.get("thread_id"):
            # The user's message and the run in one request (one transaction server-side).
            stream = runs.create(
                input["thread_id"],
                assistant_id=self.assistant_id,
                additional_messages=[_user_message(input)],  # type: ignore[list-item]
                stream=True,
                extra_headers=idempotency_headers(key, "run"),
            )
            started = True
        else:
            stream = self.client.beta.threads.create_and_run(
                assistant_id=self.assistant_id,
                thread=_new_thread(input),
                stream=True,
                extra_headers=idempotency_headers(key, "thread_run"),
            )
            started = True
        tracker = _StreamTracker(on_delta, on_message_delta, submitted="tool_outputs" in input)
        try:
            if _is_json_response(stream):
                stream.response.read()
                tracker.replayed(Run.model_validate(stream.response.json()))
                stream.response.close()
            else:
                with stream:
                    for name, data in iter_events(stream.response):
                        tracker.observe(name, data)
            run = tracker.require_run()
            if run.status in WAITING_STATUSES:
                run = self._wait_for_run(run.id, run.thread_id)
                tracker.polled()
        except BaseException:
            if started and tracker.run is not None and tracker.run.status in WAITING_STATUSES:
                self.cancel_run(tracker.run.thread_id, tracker.run.id, key)
            raise
        recent_runs.remember(str(self.client.base_url), run)
        return run, tracker

    def _wait_for_run(self, run_id: str, thread_id: str) -> Any:
        """Poll until the run stops changing by itself, honouring ``openai-poll-after-ms``."""
        delay_ms = min(FIRST_POLL_MS, self.check_every_ms)
        while True:
            raw = self.client.beta.threads.runs.with_raw_response.retrieve(
                run_id, thread_id=thread_id
            )
            run = raw.parse()
            if run.status not in WAITING_STATUSES:
                return run
            wait_ms, delay_ms = _next_poll(raw.headers, delay_ms, self.check_every_ms)
            time.sleep(wait_ms / 1000)

    def take_recent_run(self, run_id: str) -> Any:
        """Return the run as this process saw it reach ``requires_action`` moments ago, or None.

        Use-once and only while fresh (see ``assistant_graph.graph.recent_runs``).
        """
        return recent_runs.take(str(self.client.base_url), run_id)

    def retrieve_run(self, thread_id: str, run_id: str) -> Any:
        """Return the run as the endpoint sees it now."""
        return self.client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)

    def wait_for_response(self, run: Any) -> Any:
        """Wait for a run that is already underway and return its actions or finish."""
        if run.status in WAITING_STATUSES:
            run = self._wait_for_run(run.id, run.thread_id)
        return self._get_response(run)

    def cancel_run(self, thread_id: str, run_id: str, key: str | None) -> None:
        """Cancel a run this process started, best effort (logged when it fails)."""
        try:
            self.client.beta.threads.runs.cancel(
                run_id, thread_id=thread_id, extra_headers=idempotency_headers(key, "cancel")
            )
        except openai.OpenAIError as exc:
            logger.warning("Could not cancel run %s on thread %s: %s", run_id, thread_id, exc)

    def _get_response(self, run: Any, tracker: _StreamTracker | None = None) -> Any:
        """Actions or finish of a run that stopped, with the text of its latest step."""
        if run.status not in ANSWERING_STATUSES:
            return _response_without_messages(run)
        messages = tracker.step_messages() if tracker is not None else None
        if messages is None:
            messages = self._read_step_messages(run, tracker is None or tracker.may_have_submits)
        return _response_with_messages(run, messages)

    def _read_step_messages(self, run: Any, may_have_submits: bool) -> list[Any]:
        """Read the messages of the run's latest model step (the run's own, if it had one)."""
        threads = self.client.beta.threads
        page = threads.messages.list(run.thread_id, run_id=run.id, order="asc", limit=100)
        if not may_have_submits:
            return page.data
        steps = threads.runs.steps.list(
            run.id, thread_id=run.thread_id, order="desc", limit=STEPS_PAGE
        )
        return _latest_step_messages(page.data, steps.data)

    # ----------------------------------------------------------------- async

    async def ainvoke(
        self, input: dict, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Any:
        """Async :meth:`invoke`: uses only the async client."""
        config = ensure_config(config)
        callback_manager = AsyncCallbackManager.configure(
            inheritable_callbacks=config.get("callbacks"),
            inheritable_tags=config.get("tags"),
            inheritable_metadata=config.get("metadata"),
        )
        run_manager = await callback_manager.on_chain_start(
            dumpd(self), input, name=config.get("run_name") or self.get_name()
        )
        user_handler: TextDeltaHandler | None = kwargs.get("on_text_delta")
        deltas: list[str] = []

        def on_delta(text: str) -> None:
            deltas.append(text)
            if user_handler is not None:
                user_handler(text)

        try:
            run, tracker = await self._astart_run(input, on_delta, kwargs.get("on_message_delta"))
            response = await self._aget_response(run, tracker)
        except BaseException as e:
            await run_manager.on_chain_error(e)
            raise
        for text in deltas:
            await run_manager.on_text(text)
        await run_manager.on_chain_end(response)
        return response

    async def _astart_run(
        self,
        input: dict,
        on_delta: TextDeltaHandler,
        on_message_delta: MessageDeltaHandler | None = None,
    ) -> tuple[Any, _StreamTracker]:
        key = input.get("idempotency_key")
        runs = self.async_client.beta.threads.runs
        if "tool_outputs" in input:
            stream = await runs.submit_tool_outputs(
                input["run_id"],
                thread_id=input["thread_id"],
                tool_outputs=input["tool_outputs"],
                stream=True,
                extra_headers=idempotency_headers(key, "submit"),
            )
            started = False
        elif input.get("thread_id"):
            # The user's message and the run in one request (one transaction server-side).
            stream = await runs.create(
                input["thread_id"],
                assistant_id=self.assistant_id,
                additional_messages=[_user_message(input)],  # type: ignore[list-item]
                stream=True,
                extra_headers=idempotency_headers(key, "run"),
            )
            started = True
        else:
            stream = await self.async_client.beta.threads.create_and_run(
                assistant_id=self.assistant_id,
                thread=_new_thread(input),
                stream=True,
                extra_headers=idempotency_headers(key, "thread_run"),
            )
            started = True
        tracker = _StreamTracker(on_delta, on_message_delta, submitted="tool_outputs" in input)
        try:
            if _is_json_response(stream):
                await stream.response.aread()
                tracker.replayed(Run.model_validate(stream.response.json()))
                await stream.response.aclose()
            else:
                async with stream:
                    async for name, data in aiter_events(stream.response):
                        pending = tracker.observe(name, data)
                        if pending is not None and inspect.isawaitable(pending):
                            await pending
            run = tracker.require_run()
            if run.status in WAITING_STATUSES:
                run = await self._await_for_run(run.id, run.thread_id)
                tracker.polled()
        except BaseException:
            if started and tracker.run is not None and tracker.run.status in WAITING_STATUSES:
                await self.acancel_run(tracker.run.thread_id, tracker.run.id, key)
            raise
        recent_runs.remember(str(self.async_client.base_url), run)
        return run, tracker

    async def _await_for_run(self, run_id: str, thread_id: str) -> Any:
        delay_ms = min(FIRST_POLL_MS, self.check_every_ms)
        while True:
            raw = await self.async_client.beta.threads.runs.with_raw_response.retrieve(
                run_id, thread_id=thread_id
            )
            run = raw.parse()
            if run.status not in WAITING_STATUSES:
                return run
            wait_ms, delay_ms = _next_poll(raw.headers, delay_ms, self.check_every_ms)
            await asyncio.sleep(wait_ms / 1000)

    def atake_recent_run(self, run_id: str) -> Any:
        """:meth:`take_recent_run` for the async client's endpoint."""
        return recent_runs.take(str(self.async_client.base_url), run_id)

    async def aretrieve_run(self, thread_id: str, run_id: str) -> Any:
        """Async :meth:`retrieve_run`."""
        return await self.async_client.beta.threads.runs.retrieve(run_id, thread_id=thread_id)

    async def await_for_response(self, run: Any) -> Any:
        """Async :meth:`wait_for_response`."""
        if run.status in WAITING_STATUSES:
            run = await self._await_for_run(run.id, run.thread_id)
        return await self._aget_response(run)

    async def acancel_run(self, thread_id: str, run_id: str, key: str | None) -> None:
        """Async :meth:`cancel_run`."""
        try:
            await self.async_client.beta.threads.runs.cancel(
                run_id, thread_id=thread_id, extra_headers=idempotency_headers(key, "cancel")
            )
        except openai.OpenAIError as exc:
            logger.warning("Could not cancel run %s on thread %s: %s", run_id, thread_id, exc)

    async def _aget_response(self, run: Any, tracker: _StreamTracker | None = None) -> Any:
        if run.status not in ANSWERING_STATUSES:
            return _response_without_messages(run)
        messages = tracker.step_messages() if tracker is not None else None
        if messages is None:
            messages = await self._aread_step_messages(
                run, tracker is None or tracker.may_have_submits
            )
        return _response_with_messages(run, messages)

    async def _aread_step_messages(self, run: Any, may_have_submits: bool) -> list[Any]:
        threads = self.async_client.beta.threads
        page = await threads.messages.list(run.thread_id, run_id=run.id, order="asc", limit=100)
        if not may_have_submits:
            return page.data
        steps = await threads.runs.steps.list(
            run.id, thread_id=run.thread_id, order="desc", limit=STEPS_PAGE
        )
        return _latest_step_messages(page.data, steps.data)


# ---------------------------------------------------------------------- helpers


def _user_message(input: dict) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "user", "content": input["content"]}
    if input.get("message_metadata"):
        message["metadata"] = input["message_metadata"]
    return message


def _new_thread(input: dict) -> dict[str, Any]:
    """Build the ``thread`` body of ``threads.create_and_run`` for a new conversation."""
    thread: dict[str, Any] = {"messages": [_user_message(input)]}
    if input.get("thread_metadata"):
        thread["metadata"] = input["thread_metadata"]
    return thread


class _StreamTracker:
    """Follows a run's event stream: the latest run object, messages, text deltas, errors.

    Events arrive as ``(name, decoded JSON)`` (``graph.run_stream``); the run object is built
    from the latest run event only when asked for. The messages the stream created are kept
    (their ids in order, and their final form from ``thread.message.completed``): when the
    stream saw the run start (``created``) or be queued again (after a submit) and stop, they
    are exactly the messages of its latest model step. A stream that joins a run midway (a
    replayed POST streams the run from its current status) cannot tell.
    """

    def __init__(
        self,
        on_delta: TextDeltaHandler,
        on_message_delta: MessageDeltaHandler | None = None,
        *,
        submitted: bool = False,
    ) -> None:
        self.on_delta = on_delta
        self.on_message_delta = on_message_delta
        self._run: Any = None
        self._run_data: dict[str, Any] | None = None
        self.error: str = ""
        self.may_have_submits = submitted
        """Whether the run may have had tool outputs submitted before its latest step."""
        self.stopped_in_stream = False
        """Whether the run's final status (for this call) came from the stream."""
        self.saw_step_start = False
        """Whether the stream saw the run before its latest model step began."""
        self._message_ids: list[str] = []
        self._completed: dict[str, dict[str, Any]] = {}

    @property
    def run(self) -> Any:
        """The run as of its latest event (None before any run event)."""
        if self._run is None and self._run_data is not None:
            self._run = Run.model_construct(**self._run_data)
        return self._run

    def replayed(self, run: Any) -> None:
        """Take the run a call answered as JSON (a replayed POST): no events to follow."""
        self._run, self._run_data = run, None
        self.may_have_submits = True  # the run may have moved on since the original POST
        self.stopped_in_stream = False

    def polled(self) -> None:
        """Note that the run was polled after the stream ended (its events were not all seen)."""
        self.stopped_in_stream = False

    def observe(self, name: str, data: Any) -> Any:
        """Take in one event; returns what ``on_message_delta`` returned (an awaitable?)."""
        if name == "error":
            message = data.get("message") if isinstance(data, dict) else None
            self.error = message or str(data)
            logger.warning("Error event in a run stream: %s", self.error)
            return None
        if not isinstance(data, dict):
            return None
        if name.startswith("thread.run.") and not name.startswith("thread.run.step."):
            self._run, self._run_data = None, data
            self.stopped_in_stream = data.get("status") not in WAITING_STATUSES
            if name in STEP_START_EVENTS:
                self.saw_step_start = True
        elif name == "thread.message.delta":
            message_id = str(data.get("id", ""))
            self._saw_message(message_id)
            values = []
            for part in (data.get("delta") or {}).get("content") or []:
                text = part.get("text") if isinstance(part, dict) else None
                value = text.get("value") if isinstance(text, dict) else None
                if value:
                    self.on_delta(value)
                    values.append(value)
            if values and self.on_message_delta is not None:
                return self.on_message_delta(message_id, "".join(values))
        elif name == "thread.message.created":
            self._saw_message(str(data.get("id", "")))
        elif name in ("thread.message.completed", "thread.message.incomplete"):
            message_id = str(data.get("id", ""))
            self._saw_message(message_id)
            self._completed[message_id] = data
        return None

    def _saw_message(self, message_id: str) -> None:
        if message_id not in self._completed and message_id not in self._message_ids:
            self._message_ids.append(message_id)

    def step_messages(self) -> list[Message] | None:
        """Return the messages of the run's latest step as streamed, or None if it can't tell.

        None when the stream did not see the run from before its latest step to its stop, or a
        message it created did not arrive in its final form; the caller then reads them from
        the endpoint.
        """
        if not (self.saw_step_start and self.stopped_in_stream):
            return None
        if any(message_id not in self._completed for message_id in self._message_ids):
            return None
        return [Message.model_validate(self._completed[i]) for i in self._message_ids]

    def require_run(self) -> Any:
        run = self.run
        if run is None:
            raise RunStreamError(RUN_STREAM_EMPTY.format(detail=self.error or "no error given"))
        return run


def _is_json_response(stream: Any) -> bool:
    """Whether a "streamed" call was answered with a plain JSON run (e.g. a replayed POST)."""
    content_type = stream.response.headers.get("content-type", "")
    return content_type.startswith("application/json")


def _next_poll(headers: Any, delay_ms: float, ceiling_ms: float) -> tuple[float, float]:
    """(wait now, next default wait): the server's hint wins, else back off up to ceiling."""
    hint = headers.get("openai-poll-after-ms")
    if hint:
        try:
            return float(hint), delay_ms
        except ValueError:
            logger.debug("Ignoring malformed openai-poll-after-ms header %r", hint)
    return delay_ms, min(delay_ms * 2, ceiling_ms)


def _latest_step_messages(messages: list[Any], steps_newest_first: list[Any]) -> list[Any]:
    """Keep the messages created after the run's last submitted tool calls.

    A ``tool_calls`` step with function calls that is ``completed`` had its outputs submitted:
    the messages of earlier steps were already returned with those calls. Steps of built-in
    tools (run server-side, no submit) do not separate steps.
    """
    latest: set[str] = set()
    for step in steps_newest_first:
        details = step.step_details
        if details.type == "message_creation":
            latest.add(details.message_creation.message_id)
        elif details.type == "tool_calls" and step.status == "completed":
            if any(call.type == "function" for call in details.tool_calls):
                break
    return [m for m in messages if m.id in latest]


def _assistant_text(messages: list[Any]) -> tuple[str, list[str], list[Any]]:
    """(text, message ids, attachments) of the assistant messages, in order."""
    texts: list[str] = []
    attachments: list[Any] = []
    message_ids: list[str] = []
    for message in messages:
        if getattr(message, "role", "assistant") != "assistant":
            continue
        message_ids.append(message.id)
        attachments.extend(getattr(message, "attachments", None) or [])
        for block in message.content:
            if block.type == "text":
                texts.append(block.text.value)
            elif block.type == "image_file":
                texts.append(f"[image file {block.image_file.file_id}]")
            elif block.type == "image_url":
                texts.append(f"[image {block.image_url.url}]")
    return "\n".join(texts), message_ids, attachments


def _response_with_messages(run: Any, messages: list[Any]) -> Any:
    """Return the finish of a completed run, or the actions of one in ``requires_action``."""
    if run.status == "completed":
        return _finish(run, messages)
    text, message_ids, _ = _assistant_text(messages)
    return [
        _action(run, call, text, message_ids)
        for call in run.required_action.submit_tool_outputs.tool_calls
    ]


def _finish(run: Any, messages: list[Any]) -> OpenAIAssistantFinish:
    """Build the answer of a completed run from the assistant messages of its last step."""
    output, message_ids, attachments = _assistant_text(messages)
    return OpenAIAssistantFinish(
        return_values={
            "output": output,
            "thread_id": run.thread_id,
            "run_id": run.id,
            "attachments": attachments,
            "message_ids": message_ids,
        },
        log="",
        run_id=run.id,
        thread_id=run.thread_id,
    )


def _response_without_messages(run: Any) -> NoReturn:
    """Raise for a run that stopped without an answer or tool calls."""
    if run.status in FAILED_STATUSES:
        raise RunEndedError(run.id, run.thread_id, run.status, describe_run_end(run))
    raise RunEndedError(run.id, run.thread_id, run.status, "unexpected run status")


def _action(run: Any, tool_call: Any, text: str, message_ids: list[str]) -> AssistantStepAction:
    function = tool_call.function
    try:
        args: Any = json.loads(function.arguments or "{}", strict=False)
    except JSONDecodeError:
        logger.warning(
            INVALID_TOOL_ARGUMENTS.format(
                tool=function.name, call_id=tool_call.id, arguments=function.arguments
            )
        )
        args = {RAW_ARGUMENTS_KEY: function.arguments}
    if not isinstance(args, dict):
        args = {RAW_ARGUMENTS_KEY: function.arguments}
    return AssistantStepAction(
        tool=function.name,
        tool_input=args,
        tool_call_id=tool_call.id,
        log=text,
        message_ids=list(message_ids),
        run_id=run.id,
        thread_id=run.thread_id,
    )
