"""Request body size limit (ASGI middleware): bodies over ``max_body_bytes`` get 413.

The body is read up front (bounded by the limit) and replayed to the application; the bytes
are also left in the ASGI scope as ``assistants_body`` for the idempotency middleware.
"""

from __future__ import annotations

from assistant_graph.assistants_server.errors import BODY_TOO_LARGE_MESSAGE, APIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_BODY = "assistants_body"


class BodyLimitMiddleware:
    """Reject bodies larger than ``limit`` bytes, by Content-Length or while reading."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _error(self, size: int) -> APIError:
        return APIError(
            413,
            BODY_TOO_LARGE_MESSAGE.format(size=size, limit=self.limit),
            code="request_too_large",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Read and bound the body of a POST/PUT/PATCH, then pass the request on."""
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._error(int(length)).response()(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._error(size).response()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[SCOPE_BODY] = body
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
