"""ASGI middleware every request passes first: its request id and the ``Host`` check.

* :class:`RequestIdMiddleware` gives every response an ``x-request-id`` header (``req_...``),
  which the SDKs expose as ``_request_id``.
* :class:`HostCheckMiddleware` answers 400 ``invalid_host`` to a ``Host`` header naming
  another server, so a web page cannot reach a loopback server through DNS rebinding
  (a page on ``attacker.example`` re-pointed at 127.0.0.1 still sends its own host name).
  Which names pass is :meth:`ServerSettings.resolved_allowed_hosts`.
"""

from __future__ import annotations

from assistant_graph.assistants_server.errors import INVALID_HOST_MESSAGE, APIError
from assistant_graph.assistants_server.ids import new_id
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"


class RequestIdMiddleware:
    """Add ``x-request-id`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_id("req")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault(REQUEST_ID_HEADER, request_id)
            await send(message)

        await self.app(scope, receive, stamped)


def host_name(host_header: str) -> str:
    """Return the name part of a ``Host`` header: no port, lower case (``[::1]`` kept)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.rpartition(":")[0] if ":" in host else host


class HostCheckMiddleware:
    """400 ``invalid_host`` unless the ``Host`` header names one of ``allowed`` (any port).

    ``allowed`` empty accepts every host. A request without ``Host`` (HTTP/1.0 tools, never
    a browser) passes.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(name.lower() for name in allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the host of an HTTP request, then pass it on."""
        if scope["type"] == "http" and self.allowed:
            header = dict(scope["headers"]).get(b"host")
            if header is not None:
                name = host_name(header.decode("latin-1"))
                if name not in self.allowed:
                    error = APIError(
                        400,
                        INVALID_HOST_MESSAGE.format(
                            host=name[:100], allowed=", ".join(sorted(self.allowed))
                        ),
                        param="Host",
                        code="invalid_host",
                    )
                    await error.response()(scope, receive, send)
                    return
        await self.app(scope, receive, send)
