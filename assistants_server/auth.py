"""Bearer-key authentication (ASGI middleware), active when ``ServerSettings.api_keys`` is set.

The accepted key (or ``""`` without authentication) is stored in the ASGI scope as
``assistants_api_key`` so per-key features (idempotency keys) can scope by it.
"""

from __future__ import annotations

import hmac

from assistant_graph.assistants_server.errors import (
    INVALID_API_KEY_MESSAGE,
    MISSING_API_KEY_MESSAGE,
    APIError,
)
from starlette.types import ASGIApp, Receive, Scope, Send

SCOPE_KEY = "assistants_api_key"
PUBLIC_PATHS = frozenset({"/health"})
"""Paths served without a key (the liveness probe reveals nothing)."""


class AuthMiddleware:
    """401 ``invalid_api_key`` unless ``Authorization: Bearer <one of the keys>``."""

    def __init__(self, app: ASGIApp, api_keys: tuple[str, ...]) -> None:
        self.app = app
        self.api_keys = tuple(k.encode() for k in api_keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the key of an HTTP request, then pass it on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not self.api_keys or scope["path"] in PUBLIC_PATHS:
            scope[SCOPE_KEY] = ""
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            await APIError(401, MISSING_API_KEY_MESSAGE, code="invalid_api_key").response()(
                scope, receive, send
            )
            return
        if not any(hmac.compare_digest(token, key) for key in self.api_keys):
            await APIError(401, INVALID_API_KEY_MESSAGE, code="invalid_api_key").response()(
                scope, receive, send
            )
            return
        scope[SCOPE_KEY] = token.decode()
        await self.app(scope, receive, send)
