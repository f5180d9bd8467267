"""A small HTTP/1.1 proxy in front of the project's server that can break run event streams.

Tests put it between the real ``openai`` SDK and the embedded Assistants server to produce
transport faults for real: a rule can cut a matching POST's event stream after ``n`` events
(the socket is closed without the chunked body's end, as when a connection drops), or drop
every event whose name starts with a prefix (a stream that ends at ``thread.run.completed``
without its ``thread.message.*`` events). It also counts the TCP connections clients open.
"""

from __future__ import annotations

import http.client
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Rule:
    """What to do to the event stream of the next ``times`` POSTs whose path ends with
    ``path_suffix``: ``cut_after`` events then close the socket, or ``drop_prefix`` events."""

    path_suffix: str
    cut_after: int | None = None
    drop_prefix: str | None = None
    times: int = 1


class StreamProxy:
    """Forwards to ``upstream`` (a base URL like ``http://127.0.0.1:PORT/v1``); 127.0.0.1 only."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.path_prefix = parts.path.rstrip("/")
        self.rules: list[Rule] = []
        self.connections = 0
        self.applied: list[tuple[str, Rule]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy.connections += 1

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._forward(self)

            def do_POST(self) -> None:
                proxy._forward(self)

            def do_DELETE(self) -> None:
                proxy._forward(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The proxy's base URL (same path as the upstream's)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{self.path_prefix}"

    def __enter__(self) -> StreamProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _take_rule(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if method == "POST" and path.split("?")[0].endswith(rule.path_suffix):
                    rule.times -= 1
                    if rule.times <= 0:
                        self.rules.remove(rule)
                    self.applied.append((path, rule))
                    return rule
        return None

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            handler.send_response(response.status)
            for key, value in response.getheaders():
                if key.lower() not in HOP_BY_HOP:
                    handler.send_header(key, value)
            if "text/event-stream" not in (response.getheader("content-type") or ""):
                data = response.read()
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
                return
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            self._stream(handler, response, self._take_rule(handler.command, handler.path))
        finally:
            upstream.close()

    def _stream(
        self, handler: BaseHTTPRequestHandler, response: http.client.HTTPResponse, rule: Rule | None
    ) -> None:
        sent = 0
        frame: list[bytes] = []
        if rule is not None and rule.cut_after == 0:
            return self._cut(handler)
        while True:
            line = response.readline()
            if not line:
                break
            frame.append(line)
            if line.strip():
                continue
            event = b"".join(frame)
            frame = []
            name = next(
                (x[6:].strip().decode() for x in event.splitlines() if x.startswith(b"event:")),
                "",
            )
            if rule is not None and rule.drop_prefix and name.startswith(rule.drop_prefix):
                continue
            _chunk(handler, event)
            sent += 1
            if rule is not None and rule.cut_after is not None and sent >= rule.cut_after:
                return self._cut(handler)
        if frame:
            _chunk(handler, b"".join(frame))
        handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()

    @staticmethod
    def _cut(handler: BaseHTTPRequestHandler) -> None:
        """Close the client's socket mid-body (no final chunk): a dropped connection."""
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)


def _chunk(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    handler.wfile.flush()
