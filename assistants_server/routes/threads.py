"""``/v1/threads``: create (with initial messages), retrieve, modify, delete."""

from __future__ import annotations

from assistant_graph.assistants_server.idempotency import Key, once
from assistant_graph.assistants_server.routes.common import (
    Owner,
    context,
    json_response,
    message_fields,
)
from assistant_graph.assistants_server.schemas import CreateThread, ModifyThread
from assistant_graph.assistants_server.store import objects
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()


@router.post("/threads")
async def create_thread(
    request: Request, owner: Owner, key: Key, body: CreateThread | None = None
) -> Response:
    """Create a thread and its initial messages in one transaction."""
    body = body or CreateThread()
    data = {"metadata": body.metadata or {}, "tool_resources": body.tool_resources or {}}
    messages = [message_fields(m) for m in body.messages or []]
    ctx = context(request)
    return await once(
        ctx, key, lambda: ctx.store.write(objects.create_thread, owner, data, messages)
    )


@router.get("/threads/{thread_id}")
async def retrieve_thread(thread_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Retrieve a thread."""
    return json_response(await context(request).store.read(objects.get_thread, owner, thread_id))


@router.post("/threads/{thread_id}")
async def modify_thread(
    thread_id: str, body: ModifyThread, request: Request, owner: Owner, key: Key
) -> Response:
    """Change a thread's metadata or tool resources."""
    changes = {}
    if "metadata" in body.model_fields_set:
        changes["metadata"] = body.metadata or {}
    if "tool_resources" in body.model_fields_set:
        changes["tool_resources"] = body.tool_resources or {}
    ctx = context(request)
    return await once(
        ctx, key, lambda: ctx.store.write(objects.modify_thread, owner, thread_id, changes)
    )


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Delete a thread with its messages, runs and steps."""
    await context(request).store.write(objects.delete_thread, owner, thread_id)
    return json_response({"id": thread_id, "object": "thread.deleted", "deleted": True})
