"""One dedicated thread that runs the store's database calls, in the order they were submitted.

The server's event loop hands each call over and awaits its result, so the loop never blocks
on the database. A plain thread (not ``concurrent.futures``) is used because an embedded
server may shut down from an ``atexit`` handler, after ``concurrent.futures`` refuses new work.
A call submitted before another always finishes before the other starts; a call whose caller
was cancelled still runs (its result is dropped), so a write is never half-known.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

THREAD_NAME = "assistants-db"
CLOSED_MESSAGE = "The database thread was closed; the store cannot be used after Store.close()."

_Job = tuple[Callable[[], Any], "_Replies", "asyncio.Future[Any]"]


def _deliver(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Complete ``future`` on its event loop (unless its caller gave up)."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Replies:
    """Results waiting to be delivered to one event loop, handed over in batches.

    The database thread appends; only the first reply of a batch wakes the loop (one
    ``call_soon_threadsafe``); the loop then delivers every reply queued so far, in order.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._lock = threading.Lock()
        self._items: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []

    def add(self, future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
        """Queue a reply (database thread); wake the loop if no wake-up is pending."""
        with self._lock:
            self._items.append((future, result, error))
            wake = len(self._items) == 1
        if wake:
            try:
                self.loop.call_soon_threadsafe(self._deliver_all)
            except RuntimeError:  # the caller's loop is closed: nobody awaits these results
                with self._lock:
                    self._items.clear()

    def _deliver_all(self) -> None:
        with self._lock:
            items, self._items = self._items, []
        for future, result, error in items:
            _deliver(future, result, error)


class DatabaseThread:
    """A worker thread with a FIFO queue of calls; started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._replies: dict[asyncio.AbstractEventLoop, _Replies] = {}

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            function, replies, future = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = function()
            except BaseException as exc:  # handed to the awaiting coroutine, which re-raises it
                error = exc
            replies.add(future, result, error)

    async def call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``function(*args, **kwargs)`` on the thread and return (or raise) its outcome."""
        if self._closed:
            raise RuntimeError(CLOSED_MESSAGE)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        replies = self._replies.get(loop)
        if replies is None:
            replies = self._replies[loop] = _Replies(loop)
        future: asyncio.Future[_T] = loop.create_future()
        self._jobs.put((lambda: function(*args, **kwargs), replies, future))
        return await future

    def close(self) -> None:
        """Let the thread finish the calls already submitted, then exit (does not wait)."""
        self._closed = True
        if self._thread is not None:
            self._jobs.put(None)
