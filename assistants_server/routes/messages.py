"""``/v1/threads/{thread_id}/messages``: create, retrieve, list (with ``run_id``), modify."""

from __future__ import annotations

from typing import Annotated

from assistant_graph.assistants_server.errors import not_found
from assistant_graph.assistants_server.routes.common import (
    ListParams,
    context,
    json_response,
    list_params,
    message_fields,
)
from assistant_graph.assistants_server.schemas import CreateMessage, ModifyMessage
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

router = APIRouter()


@router.post("/threads/{thread_id}/messages")
async def create_message(thread_id: str, body: CreateMessage, request: Request) -> JSONResponse:
    """Add a message; refused while a run is active on the thread."""
    ctx = context(request)
    await ctx.worker.expire_overdue(thread_id)
    return json_response(await ctx.store.add_message(thread_id, message_fields(body)))


@router.get("/threads/{thread_id}/messages")
async def list_messages(
    thread_id: str,
    request: Request,
    params: Annotated[ListParams, Depends(list_params)],
    run_id: str | None = None,
) -> JSONResponse:
    """List a thread's messages, optionally only those a run wrote (indexed either way)."""
    store = context(request).store
    page = await store.list_objects(
        "messages",
        limit=params.limit,
        order=params.order,
        after=params.after,
        before=params.before,
        in_thread=thread_id,
        thread_id=thread_id,
        **({"run_id": run_id} if run_id is not None else {}),
    )
    return json_response(page.body())


@router.get("/threads/{thread_id}/messages/{message_id}")
async def retrieve_message(thread_id: str, message_id: str, request: Request) -> JSONResponse:
    """Retrieve a message of the thread."""
    store = context(request).store
    if not await store.exists("threads", thread_id):
        raise not_found("thread", thread_id, "thread_id")
    return json_response(await store.get("messages", message_id, thread_id=thread_id))


@router.post("/threads/{thread_id}/messages/{message_id}")
async def modify_message(
    thread_id: str, message_id: str, body: ModifyMessage, request: Request
) -> JSONResponse:
    """Change a message's metadata."""
    store = context(request).store
    if not await store.exists("threads", thread_id):
        raise not_found("thread", thread_id, "thread_id")
    changes = {"metadata": body.metadata or {}} if "metadata" in body.model_fields_set else {}
    return json_response(
        await store.update_data("messages", message_id, changes, thread_id=thread_id)
    )


@router.delete("/threads/{thread_id}/messages/{message_id}")
async def delete_message(thread_id: str, message_id: str, request: Request) -> JSONResponse:
    """Delete a message."""
    store = context(request).store
    await store.get("messages", message_id, thread_id=thread_id)
    await store.delete_message(message_id)
    return json_response({"id": message_id, "object": "thread.message.deleted", "deleted": True})
