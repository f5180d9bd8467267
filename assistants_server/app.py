"""The FastAPI application: routes under ``/v1``, middleware, worker lifecycle.

``create_app(settings, backend=None)`` builds one server instance. Its store opens (creates
the SQLAlchemy engine and tables, on the store's database thread) when the application starts
(lifespan); then the run worker starts and first recovers runs a stopped server left behind.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from assistant_graph.assistants_server.auth import AuthMiddleware
from assistant_graph.assistants_server.backends.base import ModelBackend
from assistant_graph.assistants_server.context import ServerContext
from assistant_graph.assistants_server.errors import install_error_handlers
from assistant_graph.assistants_server.events import RunEventBus
from assistant_graph.assistants_server.idempotency import KeyClock
from assistant_graph.assistants_server.limits import BodyLimitMiddleware
from assistant_graph.assistants_server.request_guards import (
    HostCheckMiddleware,
    RequestIdMiddleware,
)
from assistant_graph.assistants_server.retrieval import Retrieval
from assistant_graph.assistants_server.retrieval.ingestion import IngestionWorker
from assistant_graph.assistants_server.routes import (
    assistants,
    files,
    messages,
    runs,
    threads,
    vector_stores,
)
from assistant_graph.assistants_server.routes.common import store_error_handler
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.assistants_server.store import Store, StoreError
from assistant_graph.assistants_server.worker import HEARTBEAT_SECONDS, LEASE_SECONDS, RunWorker
from assistant_graph.assistants_server.worker.code_interpreter import CodeInterpreterTool
from assistant_graph.assistants_server.worker.file_search import FileSearchTool
from fastapi import FastAPI
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from assistant_graph.assistants_server.interpreter import InterpreterPool

logger = logging.getLogger(__name__)


def _default_backend(settings: ServerSettings, builtin_tools: frozenset[str]) -> ModelBackend:
    from assistant_graph.assistants_server.backends import create_backend

    return create_backend(settings, builtin_tools=builtin_tools)


def create_app(
    settings: ServerSettings | None = None,
    *,
    backend: ModelBackend | None = None,
    interpreter: InterpreterPool | None = None,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
    lease_seconds: float = LEASE_SECONDS,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """Build the Assistants v2 server application.

    ``backend`` defaults to ``assistants_server.backends.create_backend(settings)``; pass one
    to inject a scripted model (tests). ``interpreter`` (an ``InterpreterPool``) executes
    ``code_interpreter`` calls; by default one is made from the settings when the first code
    runs (and closed with the server). ``heartbeat_seconds``/``lease_seconds`` tune how fast
    runs of dead processes are reclaimed. ``clock`` (Unix seconds) decides when idempotency
    keys expire (inject one to test retention).
    """
    settings = settings or ServerSettings()
    code_interpreter = (
        CodeInterpreterTool(settings)
        if interpreter is None
        else CodeInterpreterTool(pool=interpreter)
    )
    store = Store(settings.resolved_database_url())
    retrieval = Retrieval.from_settings(store, settings)
    ingestion = IngestionWorker(retrieval)
    server_tools = [code_interpreter, FileSearchTool(retrieval, ingestion)]
    owns_backend = backend is None
    if backend is None:
        backend = _default_backend(settings, frozenset(tool.type for tool in server_tools))
    bus = RunEventBus()
    worker = RunWorker(
        store,
        backend,
        settings,
        bus,
        heartbeat_seconds=heartbeat_seconds,
        lease_seconds=lease_seconds,
        server_tools=server_tools,
    )
    context = ServerContext(
        settings, store, bus, backend, worker, owns_backend, KeyClock(clock), retrieval, ingestion
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await store.open()
        relay = None
        try:
            if store.engine.dialect.name == "postgresql":
                from assistant_graph.assistants_server.event_relay import PostgresEventRelay

                relay = PostgresEventRelay(store.url, bus)
                await relay.start()
            await retrieval.open()
            await ingestion.start()
            await worker.start()
            try:
                yield
            finally:
                await worker.stop()
                await ingestion.stop()
                await retrieval.close()
                if context.owns_backend:
                    await backend.aclose()
                await code_interpreter.aclose()
        finally:
            if relay is not None:
                await relay.stop()
            await store.close()

    app = FastAPI(
        title="assistant-graph Assistants v2 server",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/v1/openapi.json",
    )
    app.state.context = context
    install_error_handlers(app)
    app.add_exception_handler(StoreError, store_error_handler)
    # runs first: "POST /threads/runs" must not be taken for "POST /threads/{thread_id}".
    for module in (runs, assistants, threads, messages, files, vector_stores):
        app.include_router(module.router, prefix="/v1")

    @app.get("/health")
    async def health() -> JSONResponse:
        """Liveness probe (no authentication)."""
        return JSONResponse({"status": "ok", "backend": backend.name})

    # Outermost first at request time: request id → host check → auth → body limit → routes.
    app.add_middleware(
        BodyLimitMiddleware, limit=settings.max_body_bytes, file_limit=settings.max_file_bytes
    )
    app.add_middleware(AuthMiddleware, api_keys=settings.api_keys)
    app.add_middleware(HostCheckMiddleware, allowed=settings.resolved_allowed_hosts())
    app.add_middleware(RequestIdMiddleware)
    return app
