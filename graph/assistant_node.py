"""The assistant node: one step of the assistant's run per visit.

On a new user message it starts a run (creating the Assistants thread on the first turn); after
the tools node it hands the ToolMessages to the run awaiting them. It returns the assistant's
tool calls or answer as an ``AIMessage`` plus the plain string ids kept in state.

Crash safety (with a checkpointer, under any durability): a step re-run after a crash
checks the pending run before submitting (only a run this process streamed to
``requires_action`` moments ago is submitted to without that check, see
``assistant_graph.graph.recent_runs``), so tool outputs reach a run exactly once — if the
run already moved on, its result is taken; if it expired, a new run on the same thread gets a
user message carrying the tool results. The step is reported to LangChain callbacks as a
chat-model run (``assistant_graph.graph.model_callbacks``), so ``stream_mode="messages"`` and
``astream_events`` receive the answer token by token. Every POST carries an
``Idempotency-Key`` derived from what survives a lost checkpoint (see
``assistant_graph.graph.idempotency_keys``) and the call role, so a replayed POST is not
executed twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import openai
from assistant_graph.graph import clients
from assistant_graph.graph.context import Context, context_of
from assistant_graph.graph.convert import (
    expired_results_text,
    response_to_update,
    run_ended_to_update,
)
from assistant_graph.graph.errors import (
    MISSING_TOOL_OUTPUTS,
    EndpointUnreachableError,
    InvalidInputError,
    RunEndedError,
    RunGoneError,
)
from assistant_graph.graph.idempotency_keys import idempotency_base
from assistant_graph.graph.model_callbacks import AsyncModelRun, ModelRun
from assistant_graph.graph.planning import NewTurn, Step, SubmitToolOutputs, plan_step
from assistant_graph.graph.provisioning import (
    AssistantSpec,
    ToolSpec,
    aensure_assistant,
    ensure_assistant,
)
from assistant_graph.graph.runnable import WAITING_STATUSES, AssistantRunnable
from assistant_graph.graph.state import State
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

logger = logging.getLogger(__name__)

RECENT_RUN_REFUSED = "Submit to run %s refused (%s); reading the run and continuing from it."
"""Logged when a run seen moments ago in requires_action no longer takes the tool outputs."""
ALREADY_SUBMITTED = "Run %s took the tool outputs before a restart (now %s); taking its result."
"""Logged when a re-run step finds that its submit went through."""
DeltaHandler = Callable[[str, str], Any]
"""Receives (Assistants message id, text) for each streamed text delta."""


def unreachable(exc: openai.APIConnectionError, base_url: str) -> EndpointUnreachableError:
    """Build a clear error for a connection failure, naming the endpoint and the reason."""
    reason = "could not connect"
    cause: BaseException | None = exc
    while cause is not None:
        text = str(cause).lower()
        if isinstance(cause, ConnectionRefusedError) or "connection refused" in text:
            reason = "connection refused"
            break
        if isinstance(cause, openai.APITimeoutError) or "timed out" in text:
            reason = "timed out"
            break
        if "name or service not known" in text or "nodename nor servname" in text:
            reason = "unknown host"
            break
        cause = cause.__cause__ or cause.__context__
    return EndpointUnreachableError(base_url.rstrip("/"), reason)


class AssistantNode:
    """Callable pair (sync + async) used as the ``assistant`` node of the graph."""

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        *,
        client: openai.OpenAI | None = None,
        async_client: openai.AsyncOpenAI | None = None,
    ) -> None:
        """``tools`` define the assistant's functions; clients override the configured endpoint."""
        self.tools = list(tools)
        self.client = client
        self.async_client = async_client
        self._specs: dict[tuple[str, str, str], AssistantSpec] = {}

    # ------------------------------------------------------------- plumbing

    def _spec(self, context: Context) -> AssistantSpec:
        key = (context.assistant_name, context.model, context.instructions)
        if key not in self._specs:
            self._specs[key] = AssistantSpec.from_tools(*key, self.tools)
        return self._specs[key]

    def _sync_clients(self, context: Context) -> tuple[openai.OpenAI, openai.AsyncOpenAI]:
        if self.client is not None:
            return self.client, self.async_client or _async_twin(self.client)
        endpoint = clients.resolve_endpoint(context)
        return clients.sync_client(endpoint), clients.async_client(endpoint)

    async def _async_clients(self, context: Context) -> tuple[Any, openai.AsyncOpenAI]:
        if self.async_client is not None:
            return self.client or _unused_sync_client(self.async_client), self.async_client
        if self.client is not None:
            return self.client, _async_twin(self.client)
        if context.base_url:
            endpoint = clients.resolve_endpoint(context)
        else:  # starting the embedded server blocks: keep it off the event loop
            endpoint = await asyncio.to_thread(clients.resolve_endpoint, context)
        client = await clients.aasync_client(endpoint)
        return _unused_sync_client(client), client

    def prepare(self, context: Context | None = None) -> str:
        """Reach the endpoint and provision the assistant now; return the assistant's id.

        A step does this itself; calling it first lets an app report a misconfiguration
        (:class:`EndpointUnreachableError`, :class:`UnknownAssistantError`, a rejected key)
        before a turn writes anything. The result is cached per process, so the first step
        makes no extra request.
        """
        context = context if context is not None else Context()
        sync, _ = self._sync_clients(context)
        try:
            return ensure_assistant(sync, self._spec(context), context.assistant_id)
        except openai.APIConnectionError as exc:
            raise unreachable(exc, str(sync.base_url)) from exc

    # ------------------------------------------------------------------ sync

    def invoke(self, state: State, config: RunnableConfig, runtime: Runtime[Context]) -> dict:
        """Run one assistant step (sync)."""
        step = plan_step(state.messages, state.pending_run_id)
        context = context_of(runtime)
        key = idempotency_base(config, state.messages, state.assistant_thread_id, step)
        sync, async_ = self._sync_clients(context)
        model_run = ModelRun(config, state.messages, context.model)
        try:
            try:
                assistant_id = ensure_assistant(sync, self._spec(context), context.assistant_id)
                runnable = AssistantRunnable(
                    client=sync,
                    async_client=async_,
                    assistant_id=assistant_id,
                    check_every_ms=context.check_every_ms,
                )
                update = self._step(runnable, state, step, key, config, model_run.token)
            except openai.APIConnectionError as exc:
                raise unreachable(exc, str(sync.base_url)) from exc
        except BaseException as exc:
            model_run.error(exc)
            raise
        update["review_tool_calls"] = context.interrupt_before_tools
        model_run.end(update)
        return update

    def _step(
        self,
        runnable: AssistantRunnable,
        state: State,
        step: Step,
        key: str,
        config: RunnableConfig,
        on_delta: DeltaHandler,
    ) -> dict:
        thread_id = state.assistant_thread_id
        if isinstance(step, NewTurn):
            if step.stale_run_id and thread_id:
                self._cancel_stale(runnable, thread_id, step.stale_run_id, key)
            payload: dict[str, Any] = {"content": step.content, "idempotency_key": key}
            if thread_id:
                payload["thread_id"] = thread_id
            return self._call(runnable, payload, config, on_delta)
        recent = runnable.take_recent_run(step.run_id)
        if recent is not None and not _outputs_taken(recent, step):
            try:
                return self._call(runnable, _submit_payload(recent, step, key), config, on_delta)
            except (openai.BadRequestError, openai.ConflictError) as exc:
                logger.info(RECENT_RUN_REFUSED, step.run_id, exc)
        try:
            run = runnable.retrieve_run(thread_id, step.run_id)
        except openai.NotFoundError as exc:
            raise RunGoneError(
                step.run_id, thread_id, str(runnable.client.base_url).rstrip("/")
            ) from exc
        if run.status == "requires_action" and not _outputs_taken(run, step):
            payload = _submit_payload(run, step, key)
            return self._call(runnable, payload, config, on_delta)
        if run.status == "expired":
            payload = _expired_payload(thread_id, step, key)
            return self._call(runnable, payload, config, on_delta)
        # The submit went through before a crash: take the run's result (the answer, or the
        # tool calls of its next step).
        logger.info(ALREADY_SUBMITTED, run.id, run.status)
        try:
            return response_to_update(runnable.wait_for_response(run))
        except RunEndedError as exc:
            return run_ended_to_update(exc)

    def _call(
        self,
        runnable: AssistantRunnable,
        payload: dict,
        config: RunnableConfig,
        on_delta: DeltaHandler,
    ) -> dict:
        try:
            response = runnable.invoke(payload, config, on_message_delta=on_delta)
        except RunEndedError as exc:
            logger.warning("%s", exc)
            return run_ended_to_update(exc)
        return response_to_update(response)

    def _cancel_stale(
        self, runnable: AssistantRunnable, thread_id: str, run_id: str, key: str
    ) -> None:
        try:
            run = runnable.retrieve_run(thread_id, run_id)
        except openai.NotFoundError:
            return
        if run.status == "requires_action" or run.status in WAITING_STATUSES:
            runnable.cancel_run(thread_id, run_id, f"{key}:stale")
            runnable._wait_for_run(run_id, thread_id)

    # ----------------------------------------------------------------- async

    async def ainvoke(
        self, state: State, config: RunnableConfig, runtime: Runtime[Context]
    ) -> dict:
        """Run one assistant step (async; never blocks the event loop)."""
        step = plan_step(state.messages, state.pending_run_id)
        context = context_of(runtime)
        key = idempotency_base(config, state.messages, state.assistant_thread_id, step)
        sync, async_ = await self._async_clients(context)
        model_run = await AsyncModelRun.start(config, state.messages, context.model)
        try:
            try:
                assistant_id = await aensure_assistant(
                    async_, self._spec(context), context.assistant_id
                )
                runnable = AssistantRunnable(
                    client=sync,
                    async_client=async_,
                    assistant_id=assistant_id,
                    check_every_ms=context.check_every_ms,
                )
                update = await self._astep(runnable, state, step, key, config, model_run.token)
            except openai.APIConnectionError as exc:
                raise unreachable(exc, str(async_.base_url)) from exc
        except BaseException as exc:
            await model_run.error(exc)
            raise
        update["review_tool_calls"] = context.interrupt_before_tools
        await model_run.end(update)
        return update

    async def _astep(
        self,
        runnable: AssistantRunnable,
        state: State,
        step: Step,
        key: str,
        config: RunnableConfig,
        on_delta: DeltaHandler,
    ) -> dict:
        thread_id = state.assistant_thread_id
        if isinstance(step, NewTurn):
            if step.stale_run_id and thread_id:
                await self._acancel_stale(runnable, thread_id, step.stale_run_id, key)
            payload: dict[str, Any] = {"content": step.content, "idempotency_key": key}
            if thread_id:
                payload["thread_id"] = thread_id
            return await self._acall(runnable, payload, config, on_delta)
        recent = runnable.atake_recent_run(step.run_id)
        if recent is not None and not _outputs_taken(recent, step):
            payload = _submit_payload(recent, step, key)
            try:
                return await self._acall(runnable, payload, config, on_delta)
            except (openai.BadRequestError, openai.ConflictError) as exc:
                logger.info(RECENT_RUN_REFUSED, step.run_id, exc)
        try:
            run = await runnable.aretrieve_run(thread_id, step.run_id)
        except openai.NotFoundError as exc:
            raise RunGoneError(
                step.run_id, thread_id, str(runnable.async_client.base_url).rstrip("/")
            ) from exc
        if run.status == "requires_action" and not _outputs_taken(run, step):
            return await self._acall(runnable, _submit_payload(run, step, key), config, on_delta)
        if run.status == "expired":
            payload = _expired_payload(thread_id, step, key)
            return await self._acall(runnable, payload, config, on_delta)
        logger.info(ALREADY_SUBMITTED, run.id, run.status)
        try:
            return response_to_update(await runnable.await_for_response(run))
        except RunEndedError as exc:
            return run_ended_to_update(exc)

    async def _acall(
        self,
        runnable: AssistantRunnable,
        payload: dict,
        config: RunnableConfig,
        on_delta: DeltaHandler,
    ) -> dict:
        try:
            response = await runnable.ainvoke(payload, config, on_message_delta=on_delta)
        except RunEndedError as exc:
            logger.warning("%s", exc)
            return run_ended_to_update(exc)
        return response_to_update(response)

    async def _acancel_stale(
        self, runnable: AssistantRunnable, thread_id: str, run_id: str, key: str
    ) -> None:
        try:
            run = await runnable.aretrieve_run(thread_id, run_id)
        except openai.NotFoundError:
            return
        if run.status == "requires_action" or run.status in WAITING_STATUSES:
            await runnable.acancel_run(thread_id, run_id, f"{key}:stale")
            await runnable._await_for_run(run_id, thread_id)


def _outputs_taken(run: Any, step: SubmitToolOutputs) -> bool:
    """Whether the run took these tool outputs already and now awaits those of a later step.

    A step re-run after a crash can find the run in ``requires_action`` again, for tool calls
    none of which the step answered: its submit went through before the crash.
    """
    if run.status != "requires_action":
        return False
    pending = {call.id for call in run.required_action.submit_tool_outputs.tool_calls}
    return not pending & {r.call_id for r in step.results}


def _submit_payload(run: Any, step: SubmitToolOutputs, key: str) -> dict[str, Any]:
    required = {call.id for call in run.required_action.submit_tool_outputs.tool_calls}
    have = {r.call_id for r in step.results}
    missing = sorted(required - have)
    if missing:
        raise InvalidInputError(MISSING_TOOL_OUTPUTS.format(call_ids=missing, run_id=run.id))
    return {
        "thread_id": run.thread_id,
        "run_id": run.id,
        "tool_outputs": step.tool_outputs(required),
        "idempotency_key": key,
    }


def _expired_payload(thread_id: str, step: SubmitToolOutputs, key: str) -> dict[str, Any]:
    logger.warning(
        "Run %s expired before its tool outputs were submitted; starting a new run.", step.run_id
    )
    return {
        "thread_id": thread_id,
        "content": expired_results_text(step.results),
        "idempotency_key": f"{key}:expired",
    }


def _async_twin(client: openai.OpenAI) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=client.api_key,
        base_url=client.base_url,
        default_headers=dict(client._custom_headers),
    )


class _SyncClientGuard:
    """Stands in for the sync client on the async path: using it is a bug, so it raises."""

    def __init__(self, async_client: openai.AsyncOpenAI) -> None:
        self.api_key = async_client.api_key
        self.base_url = async_client.base_url
        self._custom_headers = dict(async_client._custom_headers)

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"The async path must not use the sync client (accessed {name!r}).")


def _unused_sync_client(async_client: openai.AsyncOpenAI) -> Any:
    return _SyncClientGuard(async_client)
