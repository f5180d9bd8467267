"""OpenAI SDK clients for the Assistants endpoint, cached per (base URL, API key).

Connections are reused across invocations: one sync client per endpoint, and one async client
per endpoint and event loop (an async connection pool belongs to the loop that opened it),
made on first use and closed when its loop shuts down. With no endpoint configured the embedded
server is started lazily, on first use.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant_graph.graph.context import Context

if TYPE_CHECKING:
    import openai

ASSISTANTS_BETA_HEADER = {"OpenAI-Beta": "assistants=v2"}
EMBEDDED_PLACEHOLDER_KEY = "embedded"
"""Key sent to an embedded server that has no keys configured (the SDK requires some key)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the Assistants API lives and how to authenticate to it."""

    base_url: str
    api_key: str
    headers: tuple[tuple[str, str], ...] = tuple(ASSISTANTS_BETA_HEADER.items())
    """Headers sent with every request."""

    def __repr__(self) -> str:
        """Never show the key."""
        return f"Endpoint(base_url={self.base_url!r})"


_lock = threading.Lock()
_sync_clients: dict[Endpoint, openai.OpenAI] = {}
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Endpoint, openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()
_loop_guards: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[AsyncIterator[None]]] = (
    weakref.WeakKeyDictionary()
)


def resolve_endpoint(context: Context) -> Endpoint:
    """Return the configured endpoint, or the embedded server (started on first call)."""
    if context.base_url:
        return Endpoint(context.base_url, context.api_key or EMBEDDED_PLACEHOLDER_KEY)
    from assistant_graph.assistants_server.embedded import shared_embedded_server

    server = shared_embedded_server()
    return Endpoint(server.base_url.rstrip("/"), server.api_key or EMBEDDED_PLACEHOLDER_KEY)


def endpoint_of(client: openai.OpenAI) -> Endpoint:
    """Return the endpoint a sync client talks to, with the headers it adds to every request."""
    headers = {**ASSISTANTS_BETA_HEADER, **client._custom_headers}
    return Endpoint(
        str(client.base_url).rstrip("/"),
        client.api_key,
        tuple(sorted((k, str(v)) for k, v in headers.items())),
    )


def sync_client(endpoint: Endpoint) -> openai.OpenAI:
    """Return the process-wide sync client for ``endpoint``."""
    with _lock:
        client = _sync_clients.get(endpoint)
        if client is None:
            import openai

            client = openai.OpenAI(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key,
                default_headers=dict(endpoint.headers),
            )
            _sync_clients[endpoint] = client
        return client


async def aasync_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    """Return the async client for ``endpoint`` bound to the running event loop.

    It is closed when the loop shuts down (``asyncio.run`` finalises async generators before
    closing the loop), so no connection outlives its loop.
    """
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _async_clients.setdefault(loop, {})
        client = per_loop.get(endpoint)
        if client is not None:
            return client
        client = _new_async_client(endpoint)
        per_loop[endpoint] = client
    guard = _close_at_loop_shutdown(client)
    await guard.__anext__()
    _loop_guards.setdefault(loop, []).append(guard)
    return client


async def _close_at_loop_shutdown(client: openai.AsyncOpenAI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await client.close()


def _new_async_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    import openai

    return openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        default_headers=dict(endpoint.headers),
    )
