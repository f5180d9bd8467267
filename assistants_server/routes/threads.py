"""``/v1/threads``: create (with initial messages), retrieve, modify, delete."""

from __future__ import annotations

from assistant_graph.assistants_server.routes.common import context, json_response, message_fields
from assistant_graph.assistants_server.schemas import CreateThread, ModifyThread
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter()


@router.post("/threads")
async def create_thread(request: Request, body: CreateThread | None = None) -> JSONResponse:
    """Create a thread and its initial messages in one transaction."""
    body = body or CreateThread()
    data = {"metadata": body.metadata or {}, "tool_resources": body.tool_resources or {}}
    messages = [message_fields(m) for m in body.messages or []]
    return json_response(await context(request).store.create_thread(data, messages))


@router.get("/threads/{thread_id}")
async def retrieve_thread(thread_id: str, request: Request) -> JSONResponse:
    """Retrieve a thread."""
    return json_response(await context(request).store.get("threads", thread_id))


@router.post("/threads/{thread_id}")
async def modify_thread(thread_id: str, body: ModifyThread, request: Request) -> JSONResponse:
    """Change a thread's metadata or tool resources."""
    changes = {}
    if "metadata" in body.model_fields_set:
        changes["metadata"] = body.metadata or {}
    if "tool_resources" in body.model_fields_set:
        changes["tool_resources"] = body.tool_resources or {}
    return json_response(await context(request).store.update_data("threads", thread_id, changes))


@router.delete("/threads/{thread_id}")
async def delete_thread(thread_id: str, request: Request) -> JSONResponse:
    """Delete a thread with its messages, runs and steps."""
    await context(request).store.delete_thread(thread_id)
    return json_response({"id": thread_id, "object": "thread.deleted", "deleted": True})
