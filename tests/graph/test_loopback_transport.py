"""The graph's lean transport: the real SDK over real sockets, against real servers.

The embedded Assistants server (the suite's ``server`` fixture) covers the normal path (JSON
and streamed responses, connection reuse, many threads at once). Small socket servers written
here cover what a well-behaved server never does on request: closing a kept-alive connection,
cutting a body short, answering too slowly, sending garbage, refusing the connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.graph.clients import ASSISTANTS_BETA_HEADER, Endpoint, sync_client
from assistant_graph.graph.loopback_transport import LoopbackTransport, is_loopback_http


def _client(base_url: str, transport: LoopbackTransport, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url,
        api_key="test",
        default_headers=ASSISTANTS_BETA_HEADER,
        http_client=openai.DefaultHttpxClient(transport=transport),
        **options,
    )


class _CountingTransport(LoopbackTransport):
    """Counts the sockets it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = 0
        self._count_lock = threading.Lock()

    def _checkout(self, host: str, port: int, timeout: float | None, fresh: bool = False) -> Any:
        connection = super()._checkout(host, port, timeout, fresh)
        if not connection.reused:
            with self._count_lock:
                self.opened += 1
        return connection


def test_loopback_urls() -> None:
    assert is_loopback_http("http://127.0.0.1:8000/v1")
    assert is_loopback_http("http://localhost/v1")
    assert is_loopback_http("http://[::1]:9/v1")
    assert not is_loopback_http("https://127.0.0.1/v1")  # TLS: the default transport
    assert not is_loopback_http("http://example.com/v1")
    assert not is_loopback_http("http://10.0.0.2/v1")


def test_the_graph_uses_it_only_for_loopback_endpoints() -> None:
    local = sync_client(Endpoint("http://127.0.0.1:9/v1", "k"))
    remote = sync_client(Endpoint("https://assistants.example.com/v1", "k"))
    assert isinstance(local._client._transport, LoopbackTransport)
    assert not isinstance(remote._client._transport, LoopbackTransport)


def test_json_and_streamed_calls_over_one_reused_socket(server: EmbeddedServer) -> None:
    transport = _CountingTransport()
    client = _client(server.base_url, transport)
    assistant = client.beta.assistants.create(model="offline", name="loopback")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is 6 * 7?"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as stream:
        events = [event.event for event in stream]
    assert events[0] == "thread.run.created"
    assert events[-1] in ("thread.run.completed", "thread.run.requires_action")
    listed = client.beta.threads.messages.list(thread.id, order="asc")
    assert listed.data[0].content[0].text.value == "What is 6 * 7?"
    assert client.beta.assistants.retrieve(assistant.id).name == "loopback"
    assert transport.opened == 1
    with pytest.raises(openai.NotFoundError):  # an error status is an answer, not a failure
        client.beta.threads.retrieve("thread_missing")
    assert transport.opened == 1
    client.close()


def test_many_threads_share_one_transport(server: EmbeddedServer) -> None:
    transport = _CountingTransport()
    client = _client(server.base_url, transport)

    def create(index: int) -> str:
        return client.beta.threads.create(metadata={"index": str(index)}).metadata["index"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sorted(pool.map(create, range(40)), key=int) == [str(i) for i in range(40)]
    assert 1 <= transport.opened <= 8
    client.close()


def test_a_streamed_request_body_is_sent_with_its_length(server: EmbeddedServer) -> None:
    transport = LoopbackTransport()
    with httpx2.Client(transport=transport) as http:
        body = (part for part in (b'{"metadata":', b'{"a":"b"}}'))
        response = http.post(
            server.base_url + "/threads",
            content=body,
            headers={
                "Authorization": f"Bearer {server.api_key or 'x'}",
                "Content-Type": "application/json",
                **ASSISTANTS_BETA_HEADER,
            },
        )
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"a": "b"}


# -- misbehaving servers -------------------------------------------------------------------

OK_RESPONSE = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"id":"t1"}'
)


class _SocketServer:
    """Accepts connections on 127.0.0.1 and hands each to ``handle(connection, index)``."""

    def __init__(self, handle: Callable[[socket.socket, int], None]) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self._handle = handle
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            index = self.accepted
            self.accepted += 1
            threading.Thread(target=self._run, args=(connection, index), daemon=True).start()

    def _run(self, connection: socket.socket, index: int) -> None:
        with connection:
            self._handle(connection, index)

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += connection.recv(65536)
    return data


@pytest.fixture
def socket_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], _SocketServer]]:
    servers: list[_SocketServer] = []

    def start(handle: Callable[[socket.socket, int], None]) -> _SocketServer:
        servers.append(_SocketServer(handle))
        return servers[-1]

    yield start
    for started in servers:
        started.close()


def test_a_kept_alive_socket_the_server_closed_is_replaced(socket_server: Any) -> None:
    """The server answers one request per connection but does not say so (no Connection: close)."""

    def one_answer_then_close(connection: socket.socket, index: int) -> None:
        _read_request(connection)
        connection.sendall(OK_RESPONSE)

    server = socket_server(one_answer_then_close)
    client = _client(server.url, LoopbackTransport(), max_retries=0)
    assert client.beta.threads.retrieve("t1").id == "t1"
    assert client.beta.threads.retrieve("t1").id == "t1"  # the pooled socket was dead
    assert server.accepted == 2
    client.close()


def test_a_body_cut_short_is_a_connection_error(socket_server: Any) -> None:
    def cut_short(connection: socket.socket, index: int) -> None:
        _read_request(connection)
        connection.sendall(OK_RESPONSE[:-4])

    server = socket_server(cut_short)
    client = _client(server.url, LoopbackTransport(), max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.beta.threads.retrieve("t1")
    client.close()


def test_garbage_is_a_connection_error(socket_server: Any) -> None:
    def garbage(connection: socket.socket, index: int) -> None:
        _read_request(connection)
        connection.sendall(b"this is not HTTP\r\n\r\n")

    server = socket_server(garbage)
    client = _client(server.url, LoopbackTransport(), max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.beta.threads.retrieve("t1")
    client.close()


def test_a_slow_answer_times_out_and_the_sdk_retries(socket_server: Any) -> None:
    answered = threading.Event()

    def slow_once(connection: socket.socket, index: int) -> None:
        _read_request(connection)
        if index == 0:
            answered.wait(5)  # never answer the first attempt
            return
        connection.sendall(OK_RESPONSE)

    server = socket_server(slow_once)
    client = _client(server.url, LoopbackTransport(), max_retries=0, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        client.beta.threads.retrieve("t1")
    retrying = _client(server.url, LoopbackTransport(), max_retries=1, timeout=0.3)
    assert retrying.beta.threads.retrieve("t1").id == "t1"  # the SDK's retry, on a new socket
    answered.set()
    client.close()
    retrying.close()


def test_connection_refused_is_a_connection_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}/v1", LoopbackTransport(), max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        client.beta.threads.retrieve("t1")
    client.close()


def test_connection_close_is_honoured(socket_server: Any) -> None:
    def close_each(connection: socket.socket, index: int) -> None:
        _read_request(connection)
        connection.sendall(OK_RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n", 1))

    server = socket_server(close_each)
    transport = LoopbackTransport()
    client = _client(server.url, transport, max_retries=0)
    client.beta.threads.retrieve("t1")
    client.beta.threads.retrieve("t1")
    assert server.accepted == 2
    assert transport._idle.get(("127.0.0.1", server.port), []) == []
    client.close()


def test_other_urls_are_refused() -> None:
    with httpx2.Client(transport=LoopbackTransport()) as http:
        with pytest.raises(httpx2.UnsupportedProtocol):
            http.get("http://example.com/")
