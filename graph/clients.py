"""OpenAI SDK clients for the Assistants endpoint, cached per (base URL, API key).

Connections are reused across invocations: one sync client per endpoint, and one async client
per endpoint and event loop (an async connection pool belongs to the loop that opened it).
With no endpoint configured the embedded server is started lazily, on first use.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import dataclass

import openai

from graph.context import Context

ASSISTANTS_BETA_HEADER = {"OpenAI-Beta": "assistants=v2"}
EMBEDDED_PLACEHOLDER_KEY = "embedded"
"""Key sent to an embedded server that has no keys configured (the SDK requires some key)."""


@dataclass(frozen=True)
class Endpoint:
    """Where the Assistants API lives and how to authenticate to it."""

    base_url: str
    api_key: str

    def __repr__(self) -> str:
        """Never show the key."""
        return f"Endpoint(base_url={self.base_url!r})"


_lock = threading.Lock()
_sync_clients: dict[Endpoint, openai.OpenAI] = {}
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[Endpoint, openai.AsyncOpenAI]
] = weakref.WeakKeyDictionary()
_loopless_async_clients: dict[Endpoint, openai.AsyncOpenAI] = {}
"""Async clients handed out outside an event loop (sync code paths; they are not used there)."""


def resolve_endpoint(context: Context) -> Endpoint:
    """The configured external endpoint, or the embedded server (started on first call)."""
    if context.base_url:
        return Endpoint(context.base_url, context.api_key or EMBEDDED_PLACEHOLDER_KEY)
    from assistants_server.embedded import shared_embedded_server

    server = shared_embedded_server()
    return Endpoint(server.base_url.rstrip("/"), server.api_key or EMBEDDED_PLACEHOLDER_KEY)


def sync_client(endpoint: Endpoint) -> openai.OpenAI:
    """The process-wide sync client for ``endpoint``."""
    with _lock:
        client = _sync_clients.get(endpoint)
        if client is None:
            client = openai.OpenAI(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key,
                default_headers=ASSISTANTS_BETA_HEADER,
            )
            _sync_clients[endpoint] = client
        return client


def async_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    """The async client for ``endpoint`` bound to the running event loop.

    Outside a running loop, a client kept for sync code paths is returned (the sync runnable
    needs one but never uses it).
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        with _lock:
            if endpoint not in _loopless_async_clients:
                _loopless_async_clients[endpoint] = _new_async_client(endpoint)
            return _loopless_async_clients[endpoint]
    with _lock:
        per_loop = _async_clients.setdefault(loop, {})
        client = per_loop.get(endpoint)
        if client is None:
            client = _new_async_client(endpoint)
            per_loop[endpoint] = client
        return client


def _new_async_client(endpoint: Endpoint) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=endpoint.base_url,
        api_key=endpoint.api_key,
        default_headers=ASSISTANTS_BETA_HEADER,
    )
