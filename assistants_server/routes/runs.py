"""Runs and run steps over HTTP.

Create (optionally streaming), retrieve, list, modify, cancel, submit_tool_outputs;
``POST /v1/threads/runs`` creates a thread and runs it.
"""

from __future__ import annotations

import functools
from typing import Annotated, Any

from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import (
    CANNOT_CANCEL_MESSAGE,
    NO_TOOL_OUTPUTS_MESSAGE,
    bad_request,
    not_found,
)
from assistant_graph.assistants_server.events import StreamEvent
from assistant_graph.assistants_server.idempotency_claims import stream_recorder
from assistant_graph.assistants_server.routes.common import (
    ListParams,
    context,
    json_response,
    list_params,
    message_fields,
    run_response,
    sse_response,
)
from assistant_graph.assistants_server.schemas import (
    CreateRun,
    CreateThreadAndRun,
    ModifyRun,
    SubmitToolOutputs,
    ToolOutput,
    dump_tools,
)
from assistant_graph.assistants_server.store import Attempt, RunDeadlinePassed
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()

MISSING_OUTPUTS_MESSAGE = (
    "Expected tool outputs for call_ids {expected}, got {got}. Submit one output for every "
    "pending tool call in a single request."
)
UNKNOWN_OUTPUT_MESSAGE = (
    "No tool call found with id '{call_id}' pending on this run. Pending call ids: {expected}."
)
DUPLICATE_OUTPUT_MESSAGE = "Tool call id '{call_id}' was given more than one output."


def _run_data(assistant: dict[str, Any], body: CreateRun | CreateThreadAndRun) -> dict[str, Any]:
    """Return a run's stored body: run overrides, else the assistant's settings."""
    additional = getattr(body, "additional_instructions", None)
    tool_choice: Any = body.tool_choice
    if tool_choice is not None and not isinstance(tool_choice, str):
        tool_choice = tool_choice.model_dump(exclude_none=True)
    return {
        "model": body.model or assistant["model"],
        "instructions": body.instructions
        if body.instructions is not None
        else (assistant["instructions"] or ""),
        "tools": dump_tools(body.tools) if body.tools is not None else assistant["tools"],
        "metadata": body.metadata or {},
        "temperature": body.temperature
        if body.temperature is not None
        else assistant.get("temperature"),
        "top_p": body.top_p if body.top_p is not None else assistant.get("top_p"),
        "max_prompt_tokens": body.max_prompt_tokens,
        "max_completion_tokens": body.max_completion_tokens,
        "truncation_strategy": (
            body.truncation_strategy.model_dump()
            if body.truncation_strategy is not None
            else {"type": "auto", "last_messages": None}
        ),
        "tool_choice": tool_choice if tool_choice is not None else "auto",
        "parallel_tool_calls": True
        if body.parallel_tool_calls is None
        else body.parallel_tool_calls,
        "response_format": body.response_format
        if body.response_format is not None
        else (assistant.get("response_format") or "auto"),
        "required_action": None,
        "last_error": None,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "incomplete_details": None,
        "usage": None,
        "_additional_instructions": additional,
        "_tool_resources": getattr(body, "tool_resources", None),
    }


def _start(
    ctx: ServerContext,
    run: dict[str, Any],
    stream: bool | None,
    attempt: Attempt | None,
    thread: dict[str, Any] | None = None,
) -> Response:
    """Hand a new run (and its begun attempt) to the worker; stream its events when asked."""
    if not stream:
        ctx.worker.submit(run["id"], attempt)
        return run_response(run)
    queue = ctx.bus.subscribe(run["id"])
    ctx.worker.submit(run["id"], attempt)
    prelude = [StreamEvent("thread.created", thread)] if thread is not None else []
    prelude += [StreamEvent("thread.run.created", run), StreamEvent("thread.run.queued", run)]
    return sse_response(ctx, run["id"], queue, prelude)


@router.post("/threads/runs")
async def create_thread_and_run(body: CreateThreadAndRun, request: Request) -> Response:
    """Create a thread with its messages and start a run on it, in one transaction."""
    ctx = context(request)
    thread_body = body.thread
    thread_data = {
        "metadata": (thread_body.metadata if thread_body else None) or {},
        "tool_resources": (thread_body.tool_resources if thread_body else None)
        or body.tool_resources
        or {},
    }
    messages = [message_fields(m) for m in (thread_body.messages if thread_body else None) or []]
    run, thread, attempt = await ctx.store.create_run(
        "",
        body.assistant_id,
        lambda assistant: _run_data(assistant, body),
        new_thread=(thread_data, messages),
        owner=ctx.worker.owner_claim,
        key=stream_recorder(request.scope, body.stream),
        begin=ctx.worker.accepting,
    )
    return _start(ctx, run, body.stream, attempt, thread)


@router.post("/threads/{thread_id}/runs")
async def create_run(thread_id: str, body: CreateRun, request: Request) -> Response:
    """Start a run; refused while another run is active on the thread."""
    ctx = context(request)
    await ctx.worker.expire_overdue(thread_id)
    run, _, attempt = await ctx.store.create_run(
        thread_id,
        body.assistant_id,
        lambda assistant: _run_data(assistant, body),
        additional_messages=[message_fields(m) for m in body.additional_messages or []],
        owner=ctx.worker.owner_claim,
        key=stream_recorder(request.scope, body.stream),
        begin=ctx.worker.accepting,
    )
    return _start(ctx, run, body.stream, attempt)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str, request: Request, params: Annotated[ListParams, Depends(list_params)]
) -> JSONResponse:
    """List a thread's runs."""
    ctx = context(request)
    if not await ctx.store.exists("threads", thread_id):
        raise not_found("thread", thread_id, "thread_id")
    page = await ctx.store.list_objects("runs", **params.kwargs(), thread_id=thread_id)
    page.data = [await ctx.worker.refresh(run) for run in page.data]
    return json_response(page.body())


async def _get_run(ctx: ServerContext, thread_id: str, run_id: str) -> dict[str, Any]:
    return await ctx.worker.refresh(await ctx.store.get_in_thread("runs", run_id, thread_id))


@router.get("/threads/{thread_id}/runs/{run_id}")
async def retrieve_run(thread_id: str, run_id: str, request: Request) -> JSONResponse:
    """Retrieve a run (expired when its tool-output deadline passed)."""
    return run_response(await _get_run(context(request), thread_id, run_id))


@router.post("/threads/{thread_id}/runs/{run_id}")
async def modify_run(
    thread_id: str, run_id: str, body: ModifyRun, request: Request
) -> JSONResponse:
    """Change a run's metadata."""
    ctx = context(request)
    await _get_run(ctx, thread_id, run_id)
    run = (
        await ctx.store.update_run(run_id, metadata=body.metadata or {})
        if "metadata" in body.model_fields_set
        else None
    )
    return run_response(run or await ctx.store.get("runs", run_id))


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(thread_id: str, run_id: str, request: Request) -> JSONResponse:
    """Cancel a queued, in-progress or waiting run (it moves through ``cancelling``)."""
    ctx = context(request)
    run = await _get_run(ctx, thread_id, run_id)
    if run["status"] == "cancelling":
        return run_response(run)
    cancelled = await ctx.worker.cancel(run_id)
    if cancelled is None:
        current = await ctx.store.get("runs", run_id)
        raise bad_request(CANNOT_CANCEL_MESSAGE.format(status=current["status"]))
    return run_response(cancelled)


def checked_tool_outputs(tool_outputs: list[ToolOutput], run: dict[str, Any]) -> dict[str, str]:
    """Return the submitted outputs by call id; 400 unless one per pending call."""
    pending = [c["id"] for c in run["required_action"]["submit_tool_outputs"]["tool_calls"]]
    outputs: dict[str, str] = {}
    for index, item in enumerate(tool_outputs):
        if item.tool_call_id is None:
            raise bad_request(
                f"Missing required parameter: 'tool_outputs[{index}].tool_call_id'.",
                param=f"tool_outputs[{index}].tool_call_id",
            )
        if item.tool_call_id not in pending:
            raise bad_request(
                UNKNOWN_OUTPUT_MESSAGE.format(
                    call_id=item.tool_call_id, expected=", ".join(pending)
                ),
                param=f"tool_outputs[{index}].tool_call_id",
            )
        if item.tool_call_id in outputs:
            raise bad_request(
                DUPLICATE_OUTPUT_MESSAGE.format(call_id=item.tool_call_id),
                param=f"tool_outputs[{index}].tool_call_id",
            )
        outputs[item.tool_call_id] = item.output or ""
    missing = [call_id for call_id in pending if call_id not in outputs]
    if missing:
        raise bad_request(
            MISSING_OUTPUTS_MESSAGE.format(expected=pending, got=list(outputs)),
            param="tool_outputs",
        )
    return outputs


@router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")
async def submit_tool_outputs(
    thread_id: str, run_id: str, body: SubmitToolOutputs, request: Request
) -> Response:
    """Give the outputs of every pending tool call; the run continues in the background.

    The checks (run in the thread, waiting for outputs, one output per pending call) and the
    re-queue are one transaction.
    """
    ctx = context(request)
    try:
        run, steps, attempt = await ctx.store.requeue_with_outputs(
            thread_id,
            run_id,
            functools.partial(checked_tool_outputs, body.tool_outputs),
            ctx.worker.owner_claim,
            key=stream_recorder(request.scope, body.stream),
            begin=ctx.worker.accepting,
        )
    except RunDeadlinePassed:
        current = await ctx.worker.refresh(await ctx.store.get("runs", run_id))
        raise bad_request(NO_TOOL_OUTPUTS_MESSAGE.format(status=current["status"])) from None
    for step in steps:
        ctx.bus.publish(run_id, "thread.run.step.completed", step)
    if not body.stream:
        ctx.worker.submit(run_id, attempt)
        return run_response(run)
    queue = ctx.bus.subscribe(run_id)
    ctx.worker.submit(run_id, attempt)
    return sse_response(ctx, run_id, queue, [StreamEvent("thread.run.queued", run)])


@router.get("/threads/{thread_id}/runs/{run_id}/steps")
async def list_run_steps(
    thread_id: str,
    run_id: str,
    request: Request,
    params: Annotated[ListParams, Depends(list_params)],
) -> JSONResponse:
    """List a run's steps."""
    ctx = context(request)
    await _get_run(ctx, thread_id, run_id)
    return json_response(
        (await ctx.store.list_objects("run_steps", **params.kwargs(), run_id=run_id)).body()
    )


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
async def retrieve_run_step(
    thread_id: str, run_id: str, step_id: str, request: Request
) -> JSONResponse:
    """Retrieve a run step."""
    ctx = context(request)
    await _get_run(ctx, thread_id, run_id)
    return json_response(await ctx.store.get("run_steps", step_id, run_id=run_id))
