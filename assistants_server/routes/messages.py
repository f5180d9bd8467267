"""``/v1/threads/{thread_id}/messages``: create, retrieve, list (with ``run_id``), modify."""

from __future__ import annotations

from typing import Annotated, Any

from assistant_graph.assistants_server.idempotency import Key, once
from assistant_graph.assistants_server.routes.common import (
    ListParams,
    Owner,
    context,
    json_response,
    list_params,
    message_fields,
)
from assistant_graph.assistants_server.schemas import CreateMessage, ModifyMessage
from assistant_graph.assistants_server.store import objects
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()


@router.post("/threads/{thread_id}/messages")
async def create_message(
    thread_id: str, body: CreateMessage, request: Request, owner: Owner, key: Key
) -> Response:
    """Add a message; refused while a run is active on the thread."""
    ctx = context(request)
    await ctx.worker.expire_overdue(thread_id)
    fields = message_fields(body)

    async def add() -> dict[str, Any]:
        message = await ctx.store.write(objects.add_message, owner, thread_id, fields)
        ctx.ingestion.wake()  # attachments for file_search were queued in the thread's store
        return message

    return await once(ctx, key, add)


@router.get("/threads/{thread_id}/messages")
async def list_messages(
    thread_id: str,
    request: Request,
    owner: Owner,
    params: Annotated[ListParams, Depends(list_params)],
    run_id: str | None = None,
) -> JSONResponse:
    """List a thread's messages, optionally only those a run wrote (indexed either way)."""
    page = await context(request).store.read(
        objects.list_messages, owner, thread_id, run_id, **params.kwargs()
    )
    return json_response(page.body())


@router.get("/threads/{thread_id}/messages/{message_id}")
async def retrieve_message(
    thread_id: str, message_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Retrieve a message of the thread."""
    store = context(request).store
    return json_response(await store.read(objects.get_message, owner, thread_id, message_id))


@router.post("/threads/{thread_id}/messages/{message_id}")
async def modify_message(
    thread_id: str, message_id: str, body: ModifyMessage, request: Request, owner: Owner, key: Key
) -> Response:
    """Change a message's metadata."""
    changes = {"metadata": body.metadata or {}} if "metadata" in body.model_fields_set else {}
    ctx = context(request)
    return await once(
        ctx,
        key,
        lambda: ctx.store.write(objects.modify_message, owner, thread_id, message_id, changes),
    )


@router.delete("/threads/{thread_id}/messages/{message_id}")
async def delete_message(
    thread_id: str, message_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Delete a message."""
    await context(request).store.write(objects.delete_message, owner, thread_id, message_id)
    return json_response({"id": message_id, "object": "thread.message.deleted", "deleted": True})
