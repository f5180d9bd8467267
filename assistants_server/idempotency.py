"""``Idempotency-Key`` support for POST requests (ASGI middleware).

A POST with an ``Idempotency-Key`` header is executed once per (API key, idempotency key):

- a repeat with the same method, path and body gets the first response again (status and
  body, with ``idempotent-replayed: true``), so a client retry cannot duplicate a message or run;
- the same key with a different method, path or body gets 400 ``idempotency_key_reused``;
- a repeat while the first request is still being processed gets 409 ``idempotency_key_in_use``;
- responses with status ≥ 500 are not remembered (the retry executes again).

Requests that start or continue a run (create run, create thread and run, submit tool
outputs) claim their key in the transaction that creates or re-queues the run, not before
(see :mod:`assistants_server.idempotency_claims`): a streamed one (``stream=true``) then costs no
extra write at all, and remembers its run. A repeat of a streamed request streams that run
from its current state: one ``thread.run.<status>`` event with the run as it is now, then the
run's remaining live events until it stops (ending with ``done``), so a resumed client
continues where the run is instead of starting a second run. A repeat that arrives while the
first is still before its transaction is answered the same way once the first has claimed
the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.auth import SCOPE_KEY
from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import APIError
from assistant_graph.assistants_server.events import STATUS_EVENTS, StreamEvent
from assistant_graph.assistants_server.idempotency_claims import (
    RETENTION_SECONDS,
    SCOPE_KEY_CLAIM,
    UPDATE_KEY,
    KeyClaim,
    KeyTaken,
    reserve_key,
    select_key,
)
from assistant_graph.assistants_server.limits import SCOPE_BODY
from assistant_graph.assistants_server.routes.common import sse_response
from sqlalchemy import Connection, delete
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

KEY_REUSED_MESSAGE = (
    "Idempotency-Key '{key}' was already used for a different request (method, path or body "
    "differ). Use a new key for a new request."
)
KEY_IN_USE_MESSAGE = (
    "A request with Idempotency-Key '{key}' is still being processed. Retry when it finished."
)
MAX_KEY_LENGTH = 255
RUN_ROUTES = re.compile(r"/threads(/[^/]+)?/runs(/[^/]+/submit_tool_outputs)?$")
"""Paths of the requests that claim their key in their run's transaction."""
PURGE_INTERVAL_SECONDS = 60 * 60
"""How often (at most) a request with a key also deletes the expired keys."""


def _update_key(conn: Connection, api_scope: str, key: str, values: dict[str, Any]) -> None:
    conn.execute(UPDATE_KEY, {"scope_": api_scope, "key_": key, **values})


def _delete_key(conn: Connection, api_scope: str, key: str) -> None:
    table = db.idempotency_keys
    conn.execute(delete(table).where(table.c.scope == api_scope, table.c.key == key))


def purge_expired_keys(conn: Connection, now_s: float) -> int:
    """Delete keys older than :data:`RETENTION_SECONDS`; returns how many were deleted."""
    table = db.idempotency_keys
    result = conn.execute(delete(table).where(table.c.created_at < now_s - RETENTION_SECONDS))
    return int(result.rowcount or 0)


def _request_hash(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(b"\0" + scope["path"].encode() + b"\0" + scope.get("query_string", b"") + b"\0")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Replay the first response of a POST for a repeated ``Idempotency-Key``."""

    def __init__(
        self,
        app: ASGIApp,
        context: Callable[[], ServerContext],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.context = context
        self.clock = clock
        """Unix time in seconds (injectable for tests of retention)."""
        self._next_purge: float | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Execute a keyed POST once; replay or refuse repeats."""
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        raw_key = dict(scope["headers"]).get(b"idempotency-key")
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1").strip()
        if not key or len(key) > MAX_KEY_LENGTH:
            await APIError(
                400,
                f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.",
                param="Idempotency-Key",
                code="invalid_idempotency_key",
            ).response()(scope, receive, send)
            return
        ctx = self.context()
        api_scope = hashlib.sha256(scope.get(SCOPE_KEY, "").encode()).hexdigest()[:32]
        request_hash = _request_hash(scope, scope.get(SCOPE_BODY, b""))
        now_s = self.clock()
        await self._purge_if_due(ctx, now_s)
        claim = KeyClaim(
            api_scope, key, request_hash, now_s, deferred=bool(RUN_ROUTES.search(scope["path"]))
        )
        if not claim.deferred:
            row = await self._reserve(ctx, claim)
            if row is not None:
                await self._repeat(ctx, row, key, request_hash, scope, receive, send)
                return
        try:
            await self._execute(ctx, claim, scope, receive, send)
        except KeyTaken as taken:  # a deferred claim found the key taken; nothing was written
            await self._repeat(ctx, taken.row, key, request_hash, scope, receive, send)

    @staticmethod
    async def _reserve(ctx: ServerContext, claim: KeyClaim) -> Any:
        """Reserve the key (returns None) or return the existing record."""
        values = claim.new_record({"state": "pending"})
        try:
            return await ctx.store.transact(reserve_key, values, claim.now_s)
        except IntegrityError:
            # Another process reserved it between our read and insert.
            return await ctx.store.transact(select_key, claim.api_scope, claim.key)

    async def _purge_if_due(self, ctx: ServerContext, now_s: float) -> None:
        """Delete expired keys at most once per :data:`PURGE_INTERVAL_SECONDS`."""
        if self._next_purge is not None and now_s < self._next_purge:
            return
        self._next_purge = now_s + PURGE_INTERVAL_SECONDS
        await ctx.store.transact(purge_expired_keys, now_s)

    @staticmethod
    async def _save(ctx: ServerContext, claim: KeyClaim, **values: Any) -> None:
        """Store the outcome on the key: on the request's own record, else if still free."""
        if claim.held:
            await ctx.store.transact(_update_key, claim.api_scope, claim.key, values)
            return
        with contextlib.suppress(IntegrityError):  # taken meanwhile by another process
            await ctx.store.transact(reserve_key, claim.new_record(values), claim.now_s)

    @staticmethod
    async def _forget(ctx: ServerContext, claim: KeyClaim) -> None:
        """Drop the request's own record (a retry executes again); nothing if it holds none."""
        if claim.held:
            await ctx.store.transact(_delete_key, claim.api_scope, claim.key)

    async def _repeat(
        self,
        ctx: ServerContext,
        row: Any,
        key: str,
        request_hash: str,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        if row.request_hash != request_hash:
            error = APIError(
                400,
                KEY_REUSED_MESSAGE.format(key=key),
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
            await error.response()(scope, receive, send)
            return
        if row.state == "done":
            headers = [
                (b"content-type", (row.content_type or "application/json").encode()),
                (b"idempotent-replayed", b"true"),
            ]
            await send(
                {"type": "http.response.start", "status": row.status_code, "headers": headers}
            )
            await send({"type": "http.response.body", "body": (row.body or "").encode()})
            return
        if row.state == "stream" and row.run_id:
            run = await ctx.worker.refresh(await ctx.store.get("runs", row.run_id))
            queue = ctx.bus.subscribe(row.run_id)
            prelude = [StreamEvent(STATUS_EVENTS[run["status"]], run)]
            response = sse_response(ctx, row.run_id, queue, prelude)
            response.headers["idempotent-replayed"] = "true"
            await response(scope, receive, send)
            return
        error = APIError(
            409,
            KEY_IN_USE_MESSAGE.format(key=key),
            param="Idempotency-Key",
            code="idempotency_key_in_use",
        )
        await error.response()(scope, receive, send)

    async def _execute(
        self,
        ctx: ServerContext,
        claim: KeyClaim,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        status = 500
        content_type = ""
        chunks: list[bytes] = []
        streaming = False
        scope[SCOPE_KEY_CLAIM] = claim
        stream_saved = False
        pending = b""

        async def capture(message: Message) -> None:
            nonlocal status, content_type, streaming, stream_saved, pending
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = dict(message.get("headers", []))
                content_type = headers.get(b"content-type", b"").decode()
                streaming = content_type.startswith("text/event-stream")
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if streaming:
                    if not stream_saved and not claim.recorded:
                        pending += body
                        run = _first_run(pending)
                        if run is not None:
                            await self._save(
                                ctx,
                                claim,
                                state="stream",
                                status_code=status,
                                content_type=content_type,
                                run_id=run["id"],
                                thread_id=run["thread_id"],
                            )
                            stream_saved = True
                else:
                    chunks.append(body)
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except KeyTaken:
            raise
        except BaseException:
            await self._forget(ctx, claim)
            raise
        if streaming:
            if not (stream_saved or claim.recorded):
                await self._forget(ctx, claim)
            return
        if status >= 500:
            await self._forget(ctx, claim)
            return
        await self._save(
            ctx,
            claim,
            state="done",
            status_code=status,
            content_type=content_type,
            body=b"".join(chunks).decode("utf-8"),
        )


def _first_run(stream: bytes) -> dict[str, Any] | None:
    """Return the run object of the first ``thread.run.created`` frame in the stream so far."""
    for frame in stream.split(b"\n\n"):
        if frame.startswith(b"event: thread.run.created\n"):
            data = frame.split(b"\ndata: ", 1)
            if len(data) == 2:
                try:
                    return json.loads(data[1])  # type: ignore[no-any-return]
                except json.JSONDecodeError:
                    return None
    return None
