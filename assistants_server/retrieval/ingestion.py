"""Background indexing of vector store files, on the server's event loop.

:class:`IngestionWorker` takes files whose status is ``in_progress``, oldest first, and indexes
each (parse and chunk in a worker thread, chunks and vectors, see :class:`Retrieval`), then
marks it ``completed`` with its ``usage_bytes``, or ``failed`` with ``last_error``, in one write
that only applies while the file is still pending (a file cancelled or detached meanwhile has
its chunks removed instead). Routes call :meth:`IngestionWorker.wake` after queuing files.

Servers sharing one database claim a file before indexing it (process id and host, for
``CLAIM_SECONDS``). A server that stops mid-file leaves it ``in_progress`` with some chunks;
the next start on the same host (the claim's process is dead) or any server once the claim
lapses indexes it again from scratch, so a file is never ``completed`` half-indexed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from typing import Any

from assistant_graph.assistants_server.retrieval import stores
from assistant_graph.assistants_server.retrieval.errors import IngestionError
from assistant_graph.assistants_server.retrieval.service import Retrieval
from assistant_graph.assistants_server.store import NotFound
from assistant_graph.assistants_server.store.files import read_file_content
from assistant_graph.assistants_server.worker.leases import pid_alive

logger = logging.getLogger(__name__)

CLAIM_SECONDS = 1800.0
"""How long a claim on a file keeps other live servers off it (see ``stores.claim_next``)."""
POLL_SECONDS = 5.0
"""Between passes when nobody woke the worker (files queued by another server process)."""
FILE_GONE = "The file was deleted before it could be indexed; upload it again and re-add it."
INTERNAL_ERROR = "Indexing failed unexpectedly ({error}); add the file again to retry."


class IngestionWorker:
    """Indexes pending vector store files one at a time."""

    def __init__(self, retrieval: Retrieval, poll_seconds: float = POLL_SECONDS) -> None:
        self.retrieval = retrieval
        self.store = retrieval.store
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.pid = os.getpid()
        self.host = socket.gethostname()

    async def start(self) -> None:
        """Start the background loop (its first pass resumes files a stopped server left)."""
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._loop(), name="vector-store-ingestion")

    async def stop(self) -> None:
        """Stop the loop (a file being indexed stays ``in_progress`` and is redone later)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def wake(self) -> None:
        """Look for pending files now."""
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_pending()
            except Exception:  # a store failure: log it and try again on the next pass
                logger.exception("vector store ingestion pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def run_pending(self) -> int:
        """Index every pending file no live process has claimed; return how many."""
        done = 0
        while True:
            item = await self.store.write(
                stores.claim_next, self.pid, self.host, CLAIM_SECONDS, pid_alive
            )
            if item is None:
                return done
            await self._index(item)
            done += 1

    async def _index(self, item: dict[str, Any]) -> None:
        store_id, file_id = item["vector_store_id"], item["file_id"]
        usage, error = 0, None
        try:
            content = await self.store.read(read_file_content, item["owner"], file_id)
            usage = await self.retrieval.index_file(
                store_id, file_id, item["filename"], content, item["strategy"]
            )
        except NotFound:
            error = {"code": "invalid_file", "message": FILE_GONE}
        except IngestionError as exc:
            error = exc.last_error()
        except Exception as exc:  # recorded on the file, so it never stays in progress
            logger.exception("indexing %s into %s failed", file_id, store_id)
            error = {
                "code": "server_error",
                "message": INTERNAL_ERROR.format(error=type(exc).__name__),
            }
        if error is not None:
            await self.retrieval.remove_file(store_id, file_id)
        outcome = await self.store.write(stores.finish_file, item["seq"], self.pid, usage, error)
        if outcome == "dropped":
            await self.retrieval.remove_file(store_id, file_id)
