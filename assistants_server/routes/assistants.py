"""``/v1/assistants``: create, retrieve, list, modify, delete (each key sees its own)."""

from __future__ import annotations

from typing import Annotated

from assistant_graph.assistants_server.idempotency import Key, once
from assistant_graph.assistants_server.routes.common import (
    ListParams,
    Owner,
    context,
    json_response,
    list_params,
)
from assistant_graph.assistants_server.schemas import CreateAssistant, ModifyAssistant, dump_tools
from assistant_graph.assistants_server.store import objects
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter()


@router.post("/assistants")
async def create_assistant(
    body: CreateAssistant, request: Request, owner: Owner, key: Key
) -> Response:
    """Create an assistant."""
    data = {
        "name": body.name,
        "description": body.description,
        "model": body.model,
        "instructions": body.instructions,
        "tools": dump_tools(body.tools),
        "tool_resources": body.tool_resources or {},
        "metadata": body.metadata or {},
        "temperature": 1.0 if body.temperature is None else body.temperature,
        "top_p": 1.0 if body.top_p is None else body.top_p,
        "response_format": body.response_format or "auto",
        "_reasoning_effort": body.reasoning_effort,
    }
    store = context(request).store
    return await once(
        context(request), key, lambda: store.write(objects.create_assistant, owner, data)
    )


@router.get("/assistants")
async def list_assistants(
    request: Request, owner: Owner, params: Annotated[ListParams, Depends(list_params)]
) -> JSONResponse:
    """List the caller's assistants."""
    store = context(request).store
    return json_response(
        (await store.read(objects.list_assistants, owner, **params.kwargs())).body()
    )


@router.get("/assistants/{assistant_id}")
async def retrieve_assistant(assistant_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Retrieve an assistant."""
    store = context(request).store
    return json_response(await store.read(objects.get_assistant, owner, assistant_id))


@router.post("/assistants/{assistant_id}")
async def modify_assistant(
    assistant_id: str, body: ModifyAssistant, request: Request, owner: Owner, key: Key
) -> Response:
    """Change the given fields of an assistant."""
    changes = body.model_dump(exclude_unset=True)
    for required in ("model", "tools"):
        if changes.get(required, "") is None:
            del changes[required]
    if "tools" in changes:
        changes["tools"] = dump_tools(body.tools)
    if "metadata" in changes:
        changes["metadata"] = body.metadata or {}
    if "reasoning_effort" in changes:
        changes["_reasoning_effort"] = changes.pop("reasoning_effort")
    store = context(request).store
    return await once(
        context(request),
        key,
        lambda: store.write(objects.modify_assistant, owner, assistant_id, changes),
    )


@router.delete("/assistants/{assistant_id}")
async def delete_assistant(assistant_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Delete an assistant."""
    await context(request).store.write(objects.delete_assistant, owner, assistant_id)
    return json_response({"id": assistant_id, "object": "assistant.deleted", "deleted": True})
