"""Request body size limits (ASGI middleware): bodies over the limit get 413.

A JSON body is read up front (bounded by ``max_body_bytes``) and replayed to the application;
the bytes are also left in the ASGI scope as ``assistants_body``. A file upload
(``POST /v1/files``) is not read up front: it streams to the multipart parser, which spools the
file to a temporary file, and it is counted as it arrives; past ``max_file_bytes`` plus
:data:`MULTIPART_OVERHEAD_BYTES` (by ``Content-Length`` before reading anything, or while
reading) it gets 413. The upload route checks the file's own size against ``max_file_bytes``.
"""

from __future__ import annotations

from assistant_graph.assistants_server.errors import (
    BODY_TOO_LARGE_MESSAGE,
    FILE_TOO_LARGE_MESSAGE,
    APIError,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_BODY = "assistants_body"

UPLOAD_PATHS = frozenset({"/v1/files"})
"""Paths whose POST bodies are file uploads: streamed, bounded by the file limit."""

MULTIPART_OVERHEAD_BYTES = 64 * 1024
"""What an upload may carry besides its file: boundaries, part headers, ``purpose``."""


def file_too_large(size: int, limit: int) -> APIError:
    """Return the 413 of an upload whose file (or body) has ``size`` bytes, over ``limit``."""
    return APIError(
        413, FILE_TOO_LARGE_MESSAGE.format(size=size, limit=limit), code="file_too_large"
    )


class BodyLimitMiddleware:
    """Reject bodies larger than ``limit`` bytes (uploads: ``file_limit``), by length or size."""

    def __init__(self, app: ASGIApp, limit: int, file_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.file_limit = file_limit

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
        if scope["path"] in UPLOAD_PATHS:
            await self._stream_upload(scope, receive, send)
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

    async def _stream_upload(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass an upload on unread; raise 413 once it has carried more than its bound."""
        bound = self.file_limit + MULTIPART_OVERHEAD_BYTES
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > bound:
            await file_too_large(int(length), self.file_limit).response()(scope, receive, send)
            return
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > bound:
                raise file_too_large(size, self.file_limit)
            return message

        await self.app(scope, counted, send)
