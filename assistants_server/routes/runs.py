"""Runs and run steps over HTTP.

Create (optionally streaming), retrieve, list, modify, cancel, submit_tool_outputs;
``POST /v1/threads/runs`` creates a thread and runs it. Run create, submit and the step
routes take ``include[]`` (``file_search`` result content, see ``store.step_include``).
"""

from __future__ import annotations

from typing import Annotated, Any

from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import CANNOT_CANCEL_MESSAGE, bad_request
from assistant_graph.assistants_server.events import StreamEvent
from assistant_graph.assistants_server.idempotency import Key, once, run_request
from assistant_graph.assistants_server.routes.common import (
    POLL_AFTER_MS,
    ListParams,
    Owner,
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
    dump_tools,
)
from assistant_graph.assistants_server.store import Attempt, RunDeadlinePassed, runs
from assistant_graph.assistants_server.store.errors import NO_TOOL_OUTPUTS_MESSAGE
from assistant_graph.assistants_server.store.step_include import (
    INCLUDE_KEY,
    check_include,
    set_run_include,
    shown_step,
)
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()


def include_param(request: Request) -> list[str]:
    """Return the request's ``include[]`` (or ``include``) query values, checked."""
    values = request.query_params.getlist("include[]") + request.query_params.getlist("include")
    try:
        return check_include(values)
    except ValueError as exc:
        raise bad_request(str(exc), param="include") from None


Include = Annotated[list[str], Depends(include_param)]


def _requested(
    body: CreateRun | CreateThreadAndRun, include: list[str] | None = None
) -> dict[str, Any]:
    """Return the run's stored body as requested (None settings: the assistant's, in the store)."""
    tool_choice: Any = body.tool_choice
    if tool_choice is not None and not isinstance(tool_choice, str):
        tool_choice = tool_choice.model_dump(exclude_none=True)
    return {
        "model": body.model or None,
        "instructions": body.instructions,
        "tools": dump_tools(body.tools) if body.tools is not None else None,
        "metadata": body.metadata or {},
        "temperature": body.temperature,
        "top_p": body.top_p,
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
        "response_format": body.response_format,
        "required_action": None,
        "last_error": None,
        "started_at": None,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "incomplete_details": None,
        "usage": None,
        "_additional_instructions": getattr(body, "additional_instructions", None),
        "_tool_resources": getattr(body, "tool_resources", None),
        INCLUDE_KEY: include or [],
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
async def create_thread_and_run(
    body: CreateThreadAndRun, request: Request, owner: Owner, key: Key, include: Include
) -> Response:
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

    async def create() -> Response:
        run, thread, attempt = await ctx.store.write(
            runs.create_run,
            owner,
            None,
            body.assistant_id,
            _requested(body, include),
            new_thread=(thread_data, messages),
            lease=ctx.worker.lease,
            begin=ctx.worker.accepting,
            history=ctx.store.history,
            key=key,
            stream=bool(body.stream),
        )
        return _start(ctx, run, body.stream, attempt, thread)

    return await run_request(ctx, key, create)


@router.post("/threads/{thread_id}/runs")
async def create_run(
    thread_id: str, body: CreateRun, request: Request, owner: Owner, key: Key, include: Include
) -> Response:
    """Start a run; refused while another run is active on the thread."""
    ctx = context(request)
    await ctx.worker.expire_overdue(thread_id)

    async def create() -> Response:
        run, _, attempt = await ctx.store.write(
            runs.create_run,
            owner,
            thread_id,
            body.assistant_id,
            _requested(body, include),
            additional_messages=[message_fields(m) for m in body.additional_messages or []],
            lease=ctx.worker.lease,
            begin=ctx.worker.accepting,
            history=ctx.store.history,
            key=key,
            stream=bool(body.stream),
        )
        return _start(ctx, run, body.stream, attempt)

    return await run_request(ctx, key, create)


@router.get("/threads/{thread_id}/runs")
async def list_runs(
    thread_id: str,
    request: Request,
    owner: Owner,
    params: Annotated[ListParams, Depends(list_params)],
) -> JSONResponse:
    """List a thread's runs."""
    ctx = context(request)
    page = await ctx.store.read(runs.list_runs, owner, thread_id, **params.kwargs())
    page.data = [await ctx.worker.refresh(run) for run in page.data]
    return json_response(page.body())


async def _get_run(ctx: ServerContext, owner: str, thread_id: str, run_id: str) -> dict[str, Any]:
    return await ctx.worker.refresh(await ctx.store.read(runs.get_run, owner, thread_id, run_id))


@router.get("/threads/{thread_id}/runs/{run_id}")
async def retrieve_run(thread_id: str, run_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Retrieve a run (expired when its tool-output deadline passed)."""
    return run_response(await _get_run(context(request), owner, thread_id, run_id))


@router.post("/threads/{thread_id}/runs/{run_id}")
async def modify_run(
    thread_id: str, run_id: str, body: ModifyRun, request: Request, owner: Owner, key: Key
) -> Response:
    """Change a run's metadata."""
    ctx = context(request)
    metadata = (body.metadata or {}) if "metadata" in body.model_fields_set else None

    async def modify() -> dict[str, Any]:
        run = await ctx.store.write(runs.modify_run, owner, thread_id, run_id, metadata)
        return await ctx.worker.refresh(run)

    response = await once(ctx, key, modify)
    response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return response


@router.post("/threads/{thread_id}/runs/{run_id}/cancel")
async def cancel_run(
    thread_id: str, run_id: str, request: Request, owner: Owner, key: Key
) -> Response:
    """Cancel a queued, in-progress or waiting run (it moves through ``cancelling``)."""
    ctx = context(request)

    async def cancel() -> dict[str, Any]:
        run = await _get_run(ctx, owner, thread_id, run_id)
        if run["status"] == "cancelling":
            return run
        cancelled = await ctx.worker.cancel(run_id)
        if cancelled is None:
            current = await ctx.store.read(runs.get_run_by_id, run_id)
            raise bad_request(CANNOT_CANCEL_MESSAGE.format(status=current["status"]))
        return cancelled

    response = await once(ctx, key, cancel)
    response.headers["openai-poll-after-ms"] = POLL_AFTER_MS
    return response


@router.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")
async def submit_tool_outputs(
    thread_id: str,
    run_id: str,
    body: SubmitToolOutputs,
    request: Request,
    owner: Owner,
    key: Key,
    include: Include,
) -> Response:
    """Give the outputs of every pending tool call; the run continues in the background.

    The checks (run in the thread, waiting for outputs, one output per pending call) and the
    re-queue are one transaction.
    """
    ctx = context(request)
    outputs = [(item.tool_call_id, item.output or "") for item in body.tool_outputs]

    async def submit() -> Response:
        try:
            run, steps, attempt = await ctx.store.write(
                runs.requeue_with_outputs,
                owner,
                thread_id,
                run_id,
                outputs,
                ctx.worker.lease,
                begin=ctx.worker.accepting,
                history=ctx.store.history,
                key=key,
                stream=bool(body.stream),
            )
        except RunDeadlinePassed:
            current = await ctx.worker.refresh(await ctx.store.read(runs.get_run_by_id, run_id))
            raise bad_request(NO_TOOL_OUTPUTS_MESSAGE.format(status=current["status"])) from None
        await ctx.store.write(set_run_include, run_id, include)
        for step in steps:
            ctx.bus.publish(run_id, "thread.run.step.completed", step)
        if not body.stream:
            ctx.worker.submit(run_id, attempt)
            return run_response(run)
        queue = ctx.bus.subscribe(run_id)
        ctx.worker.submit(run_id, attempt)
        return sse_response(ctx, run_id, queue, [StreamEvent("thread.run.queued", run)])

    return await run_request(ctx, key, submit)


@router.get("/threads/{thread_id}/runs/{run_id}/steps")
async def list_run_steps(
    thread_id: str,
    run_id: str,
    request: Request,
    owner: Owner,
    params: Annotated[ListParams, Depends(list_params)],
    include: Include,
) -> JSONResponse:
    """List a run's steps."""
    store = context(request).store
    page = await store.read(runs.list_steps, owner, thread_id, run_id, **params.kwargs())
    page.data = [shown_step(step, include) for step in page.data]
    return json_response(page.body())


@router.get("/threads/{thread_id}/runs/{run_id}/steps/{step_id}")
async def retrieve_run_step(
    thread_id: str, run_id: str, step_id: str, request: Request, owner: Owner, include: Include
) -> JSONResponse:
    """Retrieve a run step."""
    store = context(request).store
    step = await store.read(runs.get_step, owner, thread_id, run_id, step_id)
    return json_response(shown_step(step, include))
