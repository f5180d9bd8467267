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

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _deliver(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """Complete ``future`` on its event loop (unless its caller gave up)."""
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class DatabaseThread:
    """A worker thread with a FIFO queue of calls; started on first use."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            function, loop, future = job
            result: Any = None
            error: BaseException | None = None
            try:
                result = function()
            except BaseException as exc:  # handed to the awaiting coroutine, which re-raises it
                error = exc
            try:
                loop.call_soon_threadsafe(_deliver, future, result, error)
            except RuntimeError:  # the caller's loop is closed: nobody awaits this result
                pass

    async def call(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``function(*args, **kwargs)`` on the thread and return (or raise) its outcome."""
        if self._closed:
            raise RuntimeError(CLOSED_MESSAGE)
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name=THREAD_NAME, daemon=True)
            self._thread.start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_T] = loop.create_future()
        self._jobs.put((lambda: function(*args, **kwargs), loop, future))
        return await future

    def close(self) -> None:
        """Let the thread finish the calls already submitted, then exit (does not wait)."""
        self._closed = True
        if self._thread is not None:
            self._jobs.put(None)
