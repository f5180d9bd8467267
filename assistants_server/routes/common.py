"""Helpers shared by the route modules.

Context access, the caller's owner, list parameters, responses, content, and the one mapping
of the store's errors to OpenAI's error shape.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from assistant_graph.assistants_server.auth import SCOPE_KEY
from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import APIError
from assistant_graph.assistants_server.events import SSE_SEPARATOR, StreamEvent, stream_run
from assistant_graph.assistants_server.schemas import CreateMessage
from assistant_graph.assistants_server.store import NotFound, StoreError, runs
from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

POLL_AFTER_MS = "25"
"""Sent as ``openai-poll-after-ms`` on run responses so SDK pollers check back quickly."""


def context(request: Request) -> ServerContext:
    """Return the server instance handling this request."""
    return request.app.state.context  # type: ignore[no-any-return]


def key_fingerprint(api_key: str) -> str:
    """Return the owner of objects created with ``api_key``: a hash of it (``""`` without keys)."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:32] if api_key else ""


async def request_owner(request: Request) -> str:
    """Return the fingerprint of the request's API key (authentication put the key in the scope)."""
    return key_fingerprint(request.scope.get(SCOPE_KEY, ""))


Owner = Annotated[str, Depends(request_owner)]
"""Route parameter: the caller's owner fingerprint; objects of other keys are not found."""


def api_error(exc: StoreError) -> APIError:
    """Return the store's error in OpenAI's shape: 404 for what the caller cannot see, else 400."""
    return APIError(
        404 if isinstance(exc, NotFound) else 400, exc.message, param=exc.param, code=exc.code
    )


async def store_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Exception handler for :class:`StoreError` (registered by ``create_app``)."""
    assert isinstance(exc, StoreError)
    return api_error(exc).response()


class ListParams:
    """``limit``, ``order``, ``after``, ``before`` of list endpoints."""

    def __init__(self, limit: int, order: str, after: str | None, before: str | None) -> None:
        self.limit = limit
        self.order = order
        self.after = after
        self.before = before

    def kwargs(self) -> dict[str, Any]:
        """As keyword arguments of the store's list functions (``store.queries.list_page``)."""
        return {
            "limit": self.limit,
            "order": self.order,
            "after": self.after,
            "before": self.before,
        }


async def list_params(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
    before: str | None = None,
) -> ListParams:
    """Read the list query parameters (a coroutine: FastAPI runs sync dependencies in a thread)."""
    return ListParams(limit, order, after, before)


def json_response(body: dict[str, Any], status_code: int = 200) -> JSONResponse:
    """Return a JSON response."""
    return JSONResponse(body, status_code=status_code)


def run_response(run: dict[str, Any]) -> JSONResponse:
    """Return a run, with the poll hint header."""
    return JSONResponse(run, headers={"openai-poll-after-ms": POLL_AFTER_MS})


def sse_response(
    ctx: ServerContext, run_id: str, queue: Any, prelude: list[StreamEvent]
) -> EventSourceResponse:
    """Stream a run's events (``queue`` must be subscribed before the run was woken)."""

    async def current() -> dict[str, Any]:
        return await ctx.worker.refresh(await ctx.store.read(runs.get_run_by_id, run_id))

    return EventSourceResponse(
        stream_run(
            ctx.bus, run_id, queue, prelude, current, lambda: ctx.worker.is_executing(run_id)
        ),
        sep=SSE_SEPARATOR,
        headers={"cache-control": "no-cache"},
    )


def message_content(message: CreateMessage) -> list[dict[str, Any]]:
    """Request content (string or parts) → stored content blocks."""
    if isinstance(message.content, str):
        return [{"type": "text", "text": {"value": message.content, "annotations": []}}]
    blocks: list[dict[str, Any]] = []
    for part in message.content:
        if part.type == "text":
            blocks.append({"type": "text", "text": {"value": part.text, "annotations": []}})
        elif part.type == "image_url":
            blocks.append({"type": "image_url", "image_url": part.image_url.model_dump()})
        else:
            blocks.append({"type": "image_file", "image_file": part.image_file.model_dump()})
    return blocks


def message_fields(message: CreateMessage) -> dict[str, Any]:
    """Return a create-message request as the store's message fields."""
    return {
        "role": message.role,
        "content": message_content(message),
        "attachments": [a.model_dump() for a in message.attachments or []],
        "metadata": message.metadata or {},
    }
