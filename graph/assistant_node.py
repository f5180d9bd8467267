"""The assistant node: one step of the assistant's run per visit.

On a new user message it starts a run (creating the Assistants thread on the first turn); after
the tools node it hands the ToolMessages to the run awaiting them. It returns the assistant's
tool calls or answer as an ``AIMessage`` plus the plain string ids kept in state. What a step
does is written once in ``graph.step_plan``; this node carries it out with the sync client
(``invoke``) or the async client (``ainvoke``).

Crash safety (with a checkpointer): a step re-run after a crash reads the pending run before
submitting, so tool outputs reach a run exactly once (see ``graph.step_plan``). The step is
reported to LangChain callbacks as a chat-model run (``assistant_graph.graph.model_callbacks``),
so ``stream_mode="messages"`` and ``astream_events`` receive the answer token by token. Every
POST carries an ``Idempotency-Key`` derived from what survives a lost checkpoint (see
``graph.idempotency_keys``) and the call role, so a replayed POST is not executed twice.
Transport failures and a busy thread are raised as the graph's own errors (``graph.failures``),
saying how to resume.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from assistant_graph.graph import clients
from assistant_graph.graph.context import Context, context_of
from assistant_graph.graph.effects import adrive, drive
from assistant_graph.graph.failures import graph_error, unreachable
from assistant_graph.graph.idempotency_keys import idempotency_base
from assistant_graph.graph.mcp_tools import (
    McpTools,
    amcp_tools_for,
    mcp_tools_for,
    tool_names,
    usable_tools,
)
from assistant_graph.graph.model_callbacks import AsyncModelRun, ModelRun
from assistant_graph.graph.planning import plan_step
from assistant_graph.graph.provisioning import (
    AssistantSpec,
    ToolSpec,
    aensure_assistant,
    ensure_assistant,
)
from assistant_graph.graph.runnable import AssistantRunnable
from assistant_graph.graph.server_steps import SERVER_STEP_EVENT
from assistant_graph.graph.state import State
from assistant_graph.graph.step_plan import (
    Call,
    Cancel,
    Effect,
    Retrieve,
    StepPlan,
    step_plan,
)
from langchain_core.callbacks.manager import adispatch_custom_event, dispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

if TYPE_CHECKING:
    import openai

WAITING_RUNS_KEPT = 1024
"""Runs this node saw reach ``requires_action`` that it remembers (oldest forgotten first)."""


class AssistantNode:
    """Callable pair (sync + async) used as the ``assistant`` node of the graph."""

    def __init__(
        self,
        tools: Sequence[ToolSpec],
        *,
        client: openai.OpenAI | None = None,
        async_client: openai.AsyncOpenAI | None = None,
    ) -> None:
        """``tools`` define the assistant's functions; clients override the configured endpoint.

        The tools of the context's MCP servers file (``Context.mcp_config``) are added to
        ``tools`` per step (see ``graph.mcp_tools``).

        With only ``client`` given, the async path uses one async client made from it (once
        per event loop, closed with the loop).
        """
        self.tools = list(tools)
        self.client = client
        self.async_client = async_client
        self._local_names = tool_names(self.tools)
        self._specs: dict[tuple[str, str, str, McpTools], AssistantSpec] = {}
        self._waiting: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------- plumbing

    def _spec(self, context: Context, mcp: McpTools) -> AssistantSpec:
        key = (context.assistant_name, context.model, context.instructions, mcp)
        if key not in self._specs:
            tools = [*self.tools, *usable_tools(self._local_names, mcp)]
            self._specs[key] = AssistantSpec.from_tools(*key[:3], tools)
        return self._specs[key]

    def _sync_client(self, context: Context) -> openai.OpenAI:
        if self.client is not None:
            return self.client
        return clients.sync_client(clients.resolve_endpoint(context))

    async def _async_client(self, context: Context) -> openai.AsyncOpenAI:
        if self.async_client is not None:
            return self.async_client
        if self.client is not None:
            return await clients.aasync_client(clients.endpoint_of(self.client))
        if context.base_url:
            endpoint = clients.resolve_endpoint(context)
        else:  # starting the embedded server blocks: keep it off the event loop
            endpoint = await asyncio.to_thread(clients.resolve_endpoint, context)
        return await clients.aasync_client(endpoint)

    def _take_waiting(self, run_id: str) -> bool:
        """Whether this node saw ``run_id`` reach ``requires_action`` (use-once)."""
        with self._lock:
            return self._waiting.pop(run_id, False) is None

    def _plan(self, state: State, config: RunnableConfig, base_url: str) -> StepPlan:
        step = plan_step(state.messages, state.pending_run_id)
        known = bool(state.pending_run_id) and self._take_waiting(state.pending_run_id)
        key = idempotency_base(config, state.messages, state.assistant_thread_id, step)
        return step_plan(step, state.assistant_thread_id, key, base_url, known_waiting=known)

    def _finish(self, update: dict, context: Context) -> dict:
        if update.get("pending_run_id"):
            with self._lock:
                self._waiting[update["pending_run_id"]] = None
                while len(self._waiting) > WAITING_RUNS_KEPT:
                    self._waiting.popitem(last=False)
        update["review_tool_calls"] = context.interrupt_before_tools
        return update

    def prepare(self, context: Context | None = None) -> str:
        """Reach the endpoint and provision the assistant now; return the assistant's id.

        A step does this itself; calling it first lets an app report a misconfiguration
        (:class:`EndpointUnreachableError`, :class:`UnknownAssistantError`, a rejected key)
        before a turn writes anything. The result is cached per process, so the first step
        makes no extra request.
        """
        from openai import APIConnectionError

        context = context if context is not None else Context()
        sync = self._sync_client(context)
        try:
            spec = self._spec(context, mcp_tools_for(context))
            return ensure_assistant(sync, spec, context.assistant_id)
        except APIConnectionError as exc:
            raise unreachable(exc, str(sync.base_url)) from exc

    # ------------------------------------------------------------------ sync

    def invoke(self, state: State, config: RunnableConfig, runtime: Runtime[Context]) -> dict:
        """Run one assistant step (sync)."""
        context = context_of(runtime)
        spec = self._spec(context, mcp_tools_for(context))
        client = self._sync_client(context)
        plan = self._plan(state, config, str(client.base_url))
        model_run = ModelRun(config, state.messages, context.model)
        try:
            try:
                assistant_id = ensure_assistant(client, spec, context.assistant_id)
                runnable = AssistantRunnable(
                    client=client, assistant_id=assistant_id, check_every_ms=context.check_every_ms
                )
                update = drive(plan, _executor(runnable, config, model_run.token))
            except Exception as exc:
                mapped = graph_error(exc, str(client.base_url))
                if mapped is None:
                    raise
                raise mapped from exc
        except BaseException as exc:
            model_run.error(exc)
            raise
        update = self._finish(update, context)
        model_run.end(update)
        return update

    # ----------------------------------------------------------------- async

    async def ainvoke(
        self, state: State, config: RunnableConfig, runtime: Runtime[Context]
    ) -> dict:
        """Run one assistant step (async; never blocks the event loop)."""
        context = context_of(runtime)
        spec = self._spec(context, await amcp_tools_for(context))
        client = await self._async_client(context)
        plan = self._plan(state, config, str(client.base_url))
        model_run = await AsyncModelRun.start(config, state.messages, context.model)
        try:
            try:
                assistant_id = await aensure_assistant(client, spec, context.assistant_id)
                runnable = AssistantRunnable(
                    client=None,
                    async_client=client,
                    assistant_id=assistant_id,
                    check_every_ms=context.check_every_ms,
                )
                update = await adrive(plan, _aexecutor(runnable, config, model_run.token))
            except Exception as exc:
                mapped = graph_error(exc, str(client.base_url))
                if mapped is None:
                    raise
                raise mapped from exc
        except BaseException as exc:
            await model_run.error(exc)
            raise
        update = self._finish(update, context)
        await model_run.end(update)
        return update


def _executor(runnable: AssistantRunnable, config: RunnableConfig, on_delta: Any) -> Any:
    """Carry out one effect of a step plan with the runnable's sync methods."""

    def execute(effect: Effect) -> Any:
        if isinstance(effect, Call):
            return runnable.invoke(
                effect.payload,
                config,
                on_message_delta=on_delta,
                on_server_step=partial(_report_server_step, config),
            )
        if isinstance(effect, Retrieve):
            return runnable.retrieve_run(effect.thread_id, effect.run_id)
        if isinstance(effect, Cancel):
            return runnable.cancel_run(effect.thread_id, effect.run_id, effect.key)
        return runnable.wait_for_response(effect.run)

    return execute


def _aexecutor(runnable: AssistantRunnable, config: RunnableConfig, on_delta: Any) -> Any:
    """Carry out one effect of a step plan with the runnable's async methods."""

    async def execute(effect: Effect) -> Any:
        if isinstance(effect, Call):
            return await runnable.ainvoke(
                effect.payload,
                config,
                on_message_delta=on_delta,
                on_server_step=partial(_areport_server_step, config),
            )
        if isinstance(effect, Retrieve):
            return await runnable.aretrieve_run(effect.thread_id, effect.run_id)
        if isinstance(effect, Cancel):
            return await runnable.acancel_run(effect.thread_id, effect.run_id, effect.key)
        return await runnable.await_for_response(effect.run)

    return execute


def _report_server_step(config: RunnableConfig, step: dict[str, Any]) -> None:
    """Send a completed server-side step to the callbacks as it happens (a custom event)."""
    try:
        dispatch_custom_event(SERVER_STEP_EVENT, step, config=config)
    except RuntimeError:  # no callback run to report to (the node called outside a graph)
        pass


async def _areport_server_step(config: RunnableConfig, step: dict[str, Any]) -> None:
    """:func:`_report_server_step` on the async path."""
    try:
        await adispatch_custom_event(SERVER_STEP_EVENT, step, config=config)
    except RuntimeError:
        pass
