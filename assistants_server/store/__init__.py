"""The server's data: assistants, threads, messages, runs, steps, files and idempotency keys.

Operations are plain functions over one SQLAlchemy connection, grouped by responsibility:

- :mod:`.objects` — assistants, threads and messages, each found only by its API key's owner;
- :mod:`.runs` — creating, re-queueing (tool outputs), reading and listing runs and steps;
- :mod:`.run_progress` — what an executing run writes (its message, steps, final status);
- :mod:`.tool_steps` — steps of tools the server executes itself (``code_interpreter``,
  ``file_search``); :mod:`.step_include` — ``include[]``: which of their fields are shown;
- :mod:`.file_search_attachments` — message attachments for ``file_search`` → the thread's
  vector store;
- :mod:`.leases` — which instance executes a run, and an attempt at its next model step;
- :mod:`.history` — a thread's messages and tool-call steps for a model request;
- :mod:`.files` — uploaded and server-written files (bytes in chunks), and the checks of
  file ids other objects name;
- :mod:`.idempotency_keys` — stored ``Idempotency-Key`` records;
- :mod:`.rows` — row → API object builders; :mod:`.queries` — lookups they share.

:class:`Store` (:mod:`.database`) runs one such function per transaction on the database
thread. The functions raise the domain errors of :mod:`.errors`; the HTTP layer maps them to
OpenAI's error shape.
"""

from assistant_graph.assistants_server.store.database import Store
from assistant_graph.assistants_server.store.errors import (
    Conflict,
    InvalidRequest,
    KeyAlreadyUsed,
    NotFound,
    RunDeadlinePassed,
    StoreError,
    ThreadBusy,
)
from assistant_graph.assistants_server.store.idempotency_keys import IdempotencyKey
from assistant_graph.assistants_server.store.leases import Attempt, Lease
from assistant_graph.assistants_server.store.rows import Page

__all__ = [
    "Attempt",
    "Conflict",
    "IdempotencyKey",
    "InvalidRequest",
    "KeyAlreadyUsed",
    "Lease",
    "NotFound",
    "Page",
    "RunDeadlinePassed",
    "Store",
    "StoreError",
    "ThreadBusy",
]
