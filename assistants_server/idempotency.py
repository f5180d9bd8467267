"""``Idempotency-Key`` support for POST requests.

A POST with an ``Idempotency-Key`` header is executed once per (API key, idempotency key):

- a repeat with the same method, path and body gets the first outcome again (with
  ``idempotent-replayed: true``), so a client retry cannot duplicate a message or run;
- the same key with a different method, path or body gets 400 ``idempotency_key_reused``;
- a repeat while the first request is still being processed gets 409 ``idempotency_key_in_use``;
- a request that fails with a server error leaves no record (the retry executes again).

The :func:`idempotency_key` dependency reads the header. Requests that create or re-queue a
run (create run, create thread and run, submit tool outputs) hand the key to the store, which
claims it inside the run's own transaction and records the run on it (:func:`run_request`);
a repeat gets that run — as it is now, or, for ``stream=true``, streamed from its current
state (one ``thread.run.<status>`` event, then its live events until it stops). Every other
POST goes through :func:`once`: the key is reserved before the route's work and the JSON
response stored after it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import APIError
from assistant_graph.assistants_server.events import STATUS_EVENTS, StreamEvent
from assistant_graph.assistants_server.routes.common import (
    api_error,
    context,
    request_owner,
    run_response,
    sse_response,
)
from assistant_graph.assistants_server.store import (
    IdempotencyKey,
    KeyAlreadyUsed,
    StoreError,
    idempotency_keys,
    runs,
)
from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

KEY_REUSED_MESSAGE = (
    "Idempotency-Key '{key}' was already used for a different request (method, path or body "
    "differ). Use a new key for a new request."
)
KEY_IN_USE_MESSAGE = (
    "A request with Idempotency-Key '{key}' is still being processed. Retry when it finished."
)
INVALID_KEY_MESSAGE = "Idempotency-Key must be 1 to {limit} characters."
MAX_KEY_LENGTH = 255
PURGE_INTERVAL_SECONDS = 60 * 60
"""How often (at most) a request with a key also deletes the expired keys."""
RETENTION_SECONDS = idempotency_keys.RETENTION_SECONDS
REPLAYED = {"idempotent-replayed": "true"}


class KeyClock:
    """The server's clock for idempotency keys (injectable to test retention) and purge."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._next_purge: float | None = None

    async def purge_if_due(self, ctx: ServerContext, now_s: float) -> None:
        """Delete expired keys at most once per :data:`PURGE_INTERVAL_SECONDS`."""
        if self._next_purge is not None and now_s < self._next_purge:
            return
        self._next_purge = now_s + PURGE_INTERVAL_SECONDS
        await ctx.store.write(idempotency_keys.purge_expired, now_s)


async def idempotency_key(request: Request) -> IdempotencyKey | None:
    """Return the request's ``Idempotency-Key`` (None without one); 400 when it is malformed."""
    return await key_for(request, request.body)


async def key_for(request: Request, body: Callable[[], Awaitable[bytes]]) -> IdempotencyKey | None:
    """Return the request's key, its request fingerprint over what ``body()`` returns.

    ``body`` is awaited only when the request has a key. The upload route passes a digest of
    the parsed form instead of the raw multipart body (which is never held in memory whole).
    """
    raw = request.headers.get("idempotency-key")
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise APIError(
            400,
            INVALID_KEY_MESSAGE.format(limit=MAX_KEY_LENGTH),
            param="Idempotency-Key",
            code="invalid_idempotency_key",
        )
    ctx = context(request)
    now_s = ctx.key_clock.clock()
    await ctx.key_clock.purge_if_due(ctx, now_s)
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b"\0" + request.url.path.encode() + b"\0")
    digest.update(request.url.query.encode() + b"\0" + await body())
    return IdempotencyKey(await request_owner(request), key, digest.hexdigest(), now_s)


Key = Annotated[IdempotencyKey | None, Depends(idempotency_key)]
"""Route parameter: the request's ``Idempotency-Key``, if it has one."""


async def repeat(ctx: ServerContext, record: Any, key: IdempotencyKey) -> Response:
    """Answer a request whose key is already recorded (``record``)."""
    if record.request_hash != key.request_hash:
        raise APIError(
            400,
            KEY_REUSED_MESSAGE.format(key=key.key),
            param="Idempotency-Key",
            code="idempotency_key_reused",
        )
    if record.state == "done":
        media_type = record.content_type or "application/json"
        body = record.body or ""
        return Response(body, record.status_code, headers=REPLAYED, media_type=media_type)
    if record.state in ("run", "stream") and record.run_id:
        run = await ctx.worker.refresh(await ctx.store.read(runs.get_run_by_id, record.run_id))
        if record.state == "run":
            response: Response = run_response(run)
        else:
            queue = ctx.bus.subscribe(record.run_id)
            prelude = [StreamEvent(STATUS_EVENTS[run["status"]], run)]
            response = sse_response(ctx, record.run_id, queue, prelude)
        response.headers.update(REPLAYED)
        return response
    raise APIError(
        409,
        KEY_IN_USE_MESSAGE.format(key=key.key),
        param="Idempotency-Key",
        code="idempotency_key_in_use",
    )


def _error(exc: Exception) -> APIError | None:
    """Return the client error ``exc`` stands for (None for anything else: not remembered)."""
    if isinstance(exc, StoreError):
        return api_error(exc)
    if isinstance(exc, APIError) and exc.status_code < 500:
        return exc
    return None


async def _remember_error(
    ctx: ServerContext, key: IdempotencyKey, error: APIError, held: bool
) -> None:
    values = {
        "state": "done",
        "status_code": error.status_code,
        "content_type": "application/json",
        "body": json.dumps(error.body()),
    }
    if held:
        await ctx.store.write(idempotency_keys.save, key, **values)
    else:
        await ctx.store.write(idempotency_keys.save_if_free, key, **values)


async def once(
    ctx: ServerContext, key: IdempotencyKey | None, make: Callable[[], Awaitable[dict[str, Any]]]
) -> Response:
    """Execute a POST that returns a JSON object at most once per ``key``."""
    if key is None:
        return JSONResponse(await make())
    record = await ctx.store.write(idempotency_keys.reserve, key, state="pending")
    if record is not None:
        return await repeat(ctx, record, key)
    try:
        body = await make()
    except Exception as exc:
        error = _error(exc)
        if error is None:
            await ctx.store.write(idempotency_keys.forget, key)
        else:
            await _remember_error(ctx, key, error, held=True)
        raise
    except BaseException:
        await ctx.store.write(idempotency_keys.forget, key)
        raise
    await ctx.store.write(
        idempotency_keys.save,
        key,
        state="done",
        status_code=200,
        content_type="application/json",
        body=json.dumps(body),
    )
    return JSONResponse(body)


async def run_request(
    ctx: ServerContext, key: IdempotencyKey | None, make: Callable[[], Awaitable[Response]]
) -> Response:
    """Execute a POST that creates or re-queues a run; ``make`` hands ``key`` to the store.

    The store claims the key in the run's transaction and raises :class:`KeyAlreadyUsed`
    (nothing written) when it is taken: the repeat is answered from the record. A client
    error is remembered on the key, if it is still free.
    """
    try:
        return await make()
    except KeyAlreadyUsed as used:
        assert key is not None
        return await repeat(ctx, used.record, key)
    except Exception as exc:
        error = _error(exc) if key is not None else None
        if key is not None and error is not None:
            await _remember_error(ctx, key, error, held=False)
        raise
