"""The objects one server instance shares between its routes, middleware and worker."""

from __future__ import annotations

from dataclasses import dataclass

from assistant_graph.assistants_server.backends.base import ModelBackend
from assistant_graph.assistants_server.events import RunEventBus
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.assistants_server.store import Store
from assistant_graph.assistants_server.worker import RunWorker


@dataclass
class ServerContext:
    """Settings, store, event bus, backend and worker of one server instance."""

    settings: ServerSettings
    store: Store
    bus: RunEventBus
    backend: ModelBackend
    worker: RunWorker
    owns_backend: bool
