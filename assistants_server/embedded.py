"""An Assistants server running inside the current process, on a free loopback port.

``EmbeddedServer`` runs uvicorn in a daemon thread with its own event loop; ``start()``
returns once the server answers, ``stop()`` shuts it down gracefully (idempotent).
``shared_embedded_server()`` is the process-wide instance the graph uses by default.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from assistant_graph.assistants_server.settings import ServerSettings

if TYPE_CHECKING:
    import uvicorn
    from assistant_graph.assistants_server.backends.base import ModelBackend
    from assistant_graph.assistants_server.context import ServerContext

PLACEHOLDER_API_KEY = "embedded"
"""Key handed to clients of a server without authentication (the SDK needs a non-empty one)."""
START_TIMEOUT_SECONDS = 30.0
NOT_STARTED_MESSAGE = "EmbeddedServer is not started; call start() first."
START_FAILED_MESSAGE = "The embedded assistants server did not start: {reason}"


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """Return the server thread's loop: uvloop where installed, else asyncio's.

    The same choice uvicorn's ``loop="auto"`` makes for ``assistant-graph serve``.
    """
    try:
        import uvloop
    except ImportError:  # e.g. on Windows, where uvloop does not exist
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class EmbeddedServer:
    """A server in a background thread. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        settings: ServerSettings | None = None,
        *,
        backend: ModelBackend | None = None,
        **app_options: Any,
    ) -> None:
        """``app_options`` go to :func:`assistants_server.app.create_app` (e.g. ``clock``)."""
        self.settings = settings or ServerSettings(port=0, host="127.0.0.1")
        self._backend = backend
        self._app_options = app_options
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The port the server listens on (after start())."""
        if self._port is None:
            raise RuntimeError(NOT_STARTED_MESSAGE)
        return self._port

    @property
    def base_url(self) -> str:
        """The API base URL for an OpenAI client, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://{self.settings.host}:{self.port}/v1"

    @property
    def api_key(self) -> str:
        """A key this server accepts (its first configured key, else a placeholder)."""
        return self.settings.api_keys[0] if self.settings.api_keys else PLACEHOLDER_API_KEY

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive() and self._port is not None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server thread's event loop (after :meth:`start`).

        For example to run a coroutine there with ``asyncio.run_coroutine_threadsafe``.
        """
        if self._loop is None or self._server is None:
            raise RuntimeError(NOT_STARTED_MESSAGE)
        return self._loop

    @property
    def context(self) -> ServerContext:
        """The running server's settings, store, bus, backend and worker (after :meth:`start`)."""
        server = self._server
        if server is None:
            raise RuntimeError(NOT_STARTED_MESSAGE)
        app: Any = server.config.app
        return cast("ServerContext", app.state.context)

    def start(self) -> EmbeddedServer:
        """Start serving; returns when the server accepts requests."""
        import uvicorn
        from assistant_graph.assistants_server.app import create_app

        with self._lock:
            if self._thread is not None:
                return self
            app = create_app(self.settings, backend=self._backend, **self._app_options)
            config = uvicorn.Config(
                app,
                host=self.settings.host,
                port=self.settings.port,
                log_level=self.settings.log_level.lower(),
                access_log=False,
                # Inside a host process, logging is the host's business: no handlers of our own.
                log_config=None,
                lifespan="on",
                timeout_graceful_shutdown=5,
            )
            server = uvicorn.Server(config)
            self._server = server
            thread = threading.Thread(
                target=self._serve, name="assistants-embedded-server", daemon=True
            )
            self._thread = thread
            thread.start()
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while not server.started:
                if self._error is not None or not thread.is_alive():
                    self._thread = None
                    reason = repr(self._error) if self._error else "the server thread exited"
                    raise RuntimeError(START_FAILED_MESSAGE.format(reason=reason)) from self._error
                if time.monotonic() > deadline:
                    server.should_exit = True
                    raise RuntimeError(START_FAILED_MESSAGE.format(reason="timed out"))
                time.sleep(0.005)
            sockets = [s for srv in server.servers for s in srv.sockets]
            self._port = sockets[0].getsockname()[1]
        return self

    def _serve(self) -> None:
        assert self._server is not None
        # asyncio.Runner, as asyncio.run: at the end, tasks still pending (such as the
        # stream library's shutdown watcher) are cancelled before the loop closes.
        with asyncio.Runner(loop_factory=_new_event_loop) as runner:
            self._loop = runner.get_loop()
            try:
                runner.run(self._server.serve())
            except BaseException as exc:  # reported to start() and re-raised there
                self._error = exc

    def stop(self) -> None:
        """Shut down gracefully and wait for the thread (safe to call twice)."""
        with self._lock:
            server, thread = self._server, self._thread
            if server is None or thread is None:
                return
            server.should_exit = True
            thread.join(timeout=15)
            self._thread = None
            self._server = None
            self._port = None
            self._loop = None

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_shared: EmbeddedServer | None = None
_shared_lock = threading.Lock()


def shared_embedded_server() -> EmbeddedServer:
    """Return the process-wide embedded server, started on first use and stopped at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.running:
            server = EmbeddedServer(ServerSettings(port=0, host="127.0.0.1"))
            server.start()
            atexit.register(server.stop)
            _shared = server
        return _shared
