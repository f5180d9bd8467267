"""The objects one server instance shares between its routes and worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant_graph.assistants_server.backends.base import ModelBackend
from assistant_graph.assistants_server.events import RunEventBus
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.assistants_server.store import Store
from assistant_graph.assistants_server.worker import RunWorker

if TYPE_CHECKING:
    from assistant_graph.assistants_server.idempotency import KeyClock
    from assistant_graph.assistants_server.retrieval import Retrieval
    from assistant_graph.assistants_server.retrieval.ingestion import IngestionWorker


@dataclass
class ServerContext:
    """Settings, store, bus, backend, run worker, key clock and file search of one instance."""

    settings: ServerSettings
    store: Store
    bus: RunEventBus
    backend: ModelBackend
    worker: RunWorker
    owns_backend: bool
    key_clock: KeyClock
    retrieval: Retrieval
    ingestion: IngestionWorker
