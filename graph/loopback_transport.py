"""A lean HTTP/1.1 transport for the graph's SDK clients on plain-HTTP loopback endpoints.

The embedded server (and any Assistants server on this machine) is reached over
``http://127.0.0.1``. There, the generic transport's layers cost more than the request itself:
on this machine ~1 ms of a conversation's 3 requests went to ``httpcore`` and its pure-Python
HTTP parser (``h11``). This transport keeps the SDK and ``httpx2.Client`` as they are and
replaces only the wire layer: one ``sendall`` per request (headers and body together), the
response parsed by ``httptools`` (the C parser uvicorn uses), kept-alive sockets reused from a
small pool, and the body streamed to the caller as it arrives (run event streams).

Errors are ``httpx2`` transport errors (``ConnectError``, ``ReadTimeout``, ...), so the SDK
maps and retries them exactly as with its default transport. A kept-alive socket the server
closed while idle is detected before anything of the response was read and the request is sent
once more on a new socket, as HTTP clients do for stale connections.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httptools
import httpx2

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
MAX_IDLE_CONNECTIONS = 8
"""Kept-alive sockets per transport; more concurrent requests open (and then close) more."""
RECEIVE_SIZE = 65536

STALE_CONNECTION = "the server closed the kept-alive connection"
INCOMPLETE_BODY = "the server closed the connection before the response body ended"
UNSUPPORTED_URL = "LoopbackTransport only speaks plain HTTP to this machine, not to {url}"


def is_loopback_http(url: str) -> bool:
    """Whether ``url`` is a plain-HTTP address on this machine (this transport's domain)."""
    parts = urlsplit(str(url))
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


class _Connection:
    """One socket to the server and the response parser of the request on it."""

    def __init__(self, host: str, port: int, timeout: float | None) -> None:
        self.address = (host, port)
        try:
            self.sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            raise httpx2.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpx2.ConnectError(str(exc)) from exc
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reused = False

    def send(self, data: bytes, timeout: float | None) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError as exc:
            raise httpx2.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpx2.WriteError(str(exc)) from exc

    def receive(self, timeout: float | None) -> bytes:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(RECEIVE_SIZE)
        except TimeoutError as exc:
            raise httpx2.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpx2.ReadError(str(exc)) from exc

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:  # pragma: no cover - closing an already broken socket
            pass


class _Response:
    """Callbacks of ``httptools.HttpResponseParser`` for one response."""

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_complete = False
        self.keep_alive = False
        """Whether the socket may carry another request (read when the headers end: the
        parser forgets it once the message is complete)."""
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_complete = True
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            raise httpx2.RemoteProtocolError(f"invalid HTTP response: {exc}") from exc


class _ResponseBody(httpx2.SyncByteStream):
    """The response body as it arrives; the socket goes back to the pool once it has ended."""

    def __init__(
        self,
        transport: LoopbackTransport,
        connection: _Connection,
        response: _Response,
        read_timeout: float | None,
    ) -> None:
        self._transport = transport
        self._connection: _Connection | None = connection
        self._response = response
        self._read_timeout = read_timeout

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        while True:
            if response.body:
                chunk = b"".join(response.body)
                response.body.clear()
                yield chunk
            if response.complete:
                self._finish()
                return
            connection = self._connection
            if connection is None:
                return
            data = connection.receive(self._read_timeout)
            if not data:
                self.close()
                raise httpx2.RemoteProtocolError(INCOMPLETE_BODY)
            response.feed(data)

    def _finish(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            if self._response.keep_alive:
                self._transport.release(connection)
            else:
                connection.close()

    def close(self) -> None:
        """Drop the socket if the body was not read to its end (it cannot be reused)."""
        if self._response.complete:
            self._finish()
        elif self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


class LoopbackTransport(httpx2.BaseTransport):
    """``httpx2`` transport for plain-HTTP loopback servers; safe to share between threads."""

    def __init__(self, max_idle_connections: int = MAX_IDLE_CONNECTIONS) -> None:
        self._max_idle = max_idle_connections
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` and return its response with the body still to be read."""
        url = request.url
        if url.scheme != "http" or url.host not in LOOPBACK_HOSTS:
            raise httpx2.UnsupportedProtocol(UNSUPPORTED_URL.format(url=url))
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        data = _serialize(request)
        connection = self._checkout(url.host, url.port or 80, timeouts.get("connect"))
        try:
            response = self._exchange(connection, data, timeouts)
        except httpx2.TransportError as exc:
            connection.close()
            if not (connection.reused and getattr(exc, "stale", False)):
                raise
            connection = self._checkout(
                url.host, url.port or 80, timeouts.get("connect"), fresh=True
            )
            try:
                response = self._exchange(connection, data, timeouts)
            except BaseException:
                connection.close()
                raise
        except BaseException:
            connection.close()
            raise
        status = response.parser.get_status_code()
        return httpx2.Response(
            status,
            headers=response.headers,
            stream=_ResponseBody(self, connection, response, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
        )

    def _exchange(
        self, connection: _Connection, data: bytes, timeouts: dict[str, Any]
    ) -> _Response:
        """Send the request and read up to the end of the response's headers.

        A failure before any of the response arrived is marked ``stale`` (on a reused socket,
        the server may have closed it while it sat idle: the request is worth sending again).
        """
        response = _Response()
        try:
            connection.send(data, timeouts.get("write"))
        except httpx2.WriteError as exc:
            exc.stale = True  # type: ignore[attr-defined]
            raise
        received = False
        while not response.headers_complete:
            try:
                chunk = connection.receive(timeouts.get("read"))
            except httpx2.ReadError as exc:
                exc.stale = not received  # type: ignore[attr-defined]
                raise
            if not chunk:
                error = httpx2.RemoteProtocolError(STALE_CONNECTION)
                error.stale = not received  # type: ignore[attr-defined]
                raise error
            received = True
            response.feed(chunk)
        return response

    def _checkout(
        self, host: str, port: int, connect_timeout: float | None, fresh: bool = False
    ) -> _Connection:
        if not fresh:
            with self._lock:
                idle = self._idle.get((host, port))
                if idle:
                    connection = idle.pop()
                    connection.reused = True
                    return connection
        return _Connection(host, port, connect_timeout)

    def release(self, connection: _Connection) -> None:
        """Take back a socket whose response ended (kept for the next request, or closed)."""
        with self._lock:
            idle = self._idle.setdefault(connection.address, [])
            if not self._closed and len(idle) < self._max_idle:
                idle.append(connection)
                return
        connection.close()

    def close(self) -> None:
        """Close the idle sockets; sockets of bodies still being read close when they end."""
        with self._lock:
            self._closed = True
            idle = [c for connections in self._idle.values() for c in connections]
            self._idle.clear()
        for connection in idle:
            connection.close()


def _serialize(request: httpx2.Request) -> bytes:
    """Return the request line, headers and body as one buffer (the body read whole)."""
    body = request.read()
    streamed = "transfer-encoding" in request.headers  # a body of unknown length, now read
    lines = [request.method.encode("ascii") + b" " + request.url.raw_path + b" HTTP/1.1"]
    for name, value in request.headers.raw:
        if streamed and name.lower() in (b"transfer-encoding", b"content-length"):
            continue
        lines.append(name + b": " + value)
    if streamed:
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
