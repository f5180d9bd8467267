"""Run events across server processes on one PostgreSQL database (``LISTEN``/``NOTIFY``).

Every event a process publishes is also sent, in order, as a notification on one channel; every
process listens on it and hands the events of other processes to its own streaming requests.
So a client streaming from process A sees the deltas of a run process B executes (a replayed
``stream=true`` request, a run B took over). A notification carries at most
:data:`MAX_PAYLOAD_BYTES`: a larger event (a very long message in one piece) is not relayed;
the stream still ends with the run's final state, which it re-reads every second.
On SQLite there is no relay: several processes on one file see each other's final states only.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

import psycopg
from assistant_graph.assistants_server.events import RunEventBus

logger = logging.getLogger(__name__)

CHANNEL = "assistants_run_events"
MAX_PAYLOAD_BYTES = 7900
"""PostgreSQL refuses a notification payload of 8000 bytes or more."""


class PostgresEventRelay:
    """Send this process's run events to the others and deliver theirs to ``bus``."""

    def __init__(self, url: str, bus: RunEventBus) -> None:
        self.url = url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.bus = bus
        self.origin = uuid.uuid4().hex[:12]
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Connect, start listening, and forward the bus's events from now on."""
        sender = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        listener = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
        await listener.execute(f"LISTEN {CHANNEL}")
        self._tasks = [
            asyncio.create_task(self._send(sender), name="event-relay-send"),
            asyncio.create_task(self._listen(listener), name="event-relay-listen"),
        ]
        self.bus.forward = self.forward

    async def stop(self) -> None:
        """Stop forwarding and close both connections (events still queued are dropped)."""
        self.bus.forward = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def forward(self, run_id: str, event: str, data: dict[str, Any]) -> None:
        """Queue one event of this process for the others (called by the bus)."""
        payload = json.dumps(
            {"o": self.origin, "r": run_id, "e": event, "d": data}, separators=(",", ":")
        )
        if len(payload.encode()) <= MAX_PAYLOAD_BYTES:
            self._outbox.put_nowait(payload)

    async def _send(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            while True:
                payload = await self._outbox.get()
                try:
                    await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))
                except psycopg.Error:
                    logger.exception("Could not relay a run event to the other processes")
        finally:
            await conn.close()

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            async for notification in conn.notifies():
                message = json.loads(notification.payload)
                if message["o"] != self.origin:
                    self.bus.deliver(message["r"], message["e"], message["d"])
        finally:
            await conn.close()
