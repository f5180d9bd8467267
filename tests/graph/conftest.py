"""Fixtures for the graph tests: the project's Assistants server, counting SDK clients.

Servers are real (``EmbeddedServer`` over HTTP with a temporary SQLite file); the model is the
offline one, optionally scripted, or (``chat_model_server``) the server's chat-completions
backend talking to ``FakeChatCompletions``, a scripted local Chat Completions endpoint that
stands in for a hosted model (it can answer with text and tool calls in one reply, as real
models do). Clients are the real ``openai`` SDK with an httpx event hook that records every
request.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings
from assistant_graph.graph import provisioning

SERVER_TESTS_DIR = Path(__file__).resolve().parents[1] / "assistants_server"
"""Where ``fake_chat_completions`` lives (shared with the server's tests)."""

if str(SERVER_TESTS_DIR) not in sys.path:
    sys.path.append(str(SERVER_TESTS_DIR))

from fake_chat_completions import FakeChatCompletions  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_provisioning_cache() -> Iterator[None]:
    """Each test provisions its assistant as a new process would."""
    provisioning.clear_cache()
    yield
    provisioning.clear_cache()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """One offline (unscripted) server for the session, on its own SQLite file."""
    db = tmp_path_factory.mktemp("server") / "assistants.sqlite3"
    settings = ServerSettings(port=0, database_url=f"sqlite:///{db}", log_level="warning")
    with EmbeddedServer(settings) as running:
        yield running


@pytest.fixture
def scripted_server(tmp_path: Path) -> Iterator[Callable[..., EmbeddedServer]]:
    """Factory: a started server whose offline model follows ``rules`` (stopped at teardown)."""
    started: list[EmbeddedServer] = []

    def start(rules: list[dict[str, Any]], **settings: Any) -> EmbeddedServer:
        script = tmp_path / f"script{len(started)}.json"
        script.write_text(json.dumps(rules))
        db = tmp_path / f"assistants{len(started)}.sqlite3"
        values: dict[str, Any] = {
            "port": 0,
            "database_url": f"sqlite:///{db}",
            "offline_script": str(script),
            "log_level": "warning",
        }
        values.update(settings)
        running = EmbeddedServer(ServerSettings(**values)).start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@dataclass
class ChatModelServer:
    """An Assistants server whose model is ``fake`` (queue its replies before each turn)."""

    server: EmbeddedServer
    fake: FakeChatCompletions

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture
def chat_model_server(tmp_path: Path) -> Iterator[ChatModelServer]:
    """A started server on a chat-completions backend backed by a scripted fake model."""
    with FakeChatCompletions() as fake:
        settings = ServerSettings(
            port=0,
            database_url=f"sqlite:///{tmp_path / 'chat-model.sqlite3'}",
            log_level="warning",
            backend="chat-completions",
            model_base_url=fake.base_url,
            model_api_key="fake-model-key",
        )
        with EmbeddedServer(settings) as running:
            yield ChatModelServer(running, fake)


@dataclass
class RequestLog:
    """Every HTTP request the clients made: (method, path, query)."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    headers: list[httpx.Headers] = field(default_factory=list)
    """Headers of each request, index-aligned with ``requests``."""
    sync_clients: list[openai.OpenAI] = field(default_factory=list)

    def record(self, request: httpx.Request) -> None:
        self.requests.append((request.method, request.url.path, request.url.query.decode()))
        self.headers.append(request.headers)

    async def arecord(self, request: httpx.Request) -> None:
        self.record(request)

    def matching(self, method: str, path_suffix: str) -> list[tuple[str, str, str]]:
        return [r for r in self.requests if r[0] == method and r[1].endswith(path_suffix)]

    def clear(self) -> None:
        self.requests.clear()
        self.headers.clear()

    def sync_client(self, server: EmbeddedServer) -> openai.OpenAI:
        """A sync SDK client that logs its requests (closed with the fixture)."""
        client = openai.OpenAI(
            base_url=server.base_url,
            api_key=server.api_key,
            http_client=httpx.Client(event_hooks={"request": [self.record]}),
        )
        self.sync_clients.append(client)
        return client

    def async_client(self, server: EmbeddedServer) -> openai.AsyncOpenAI:
        """An async SDK client that logs its requests (the caller closes it in its loop)."""
        return openai.AsyncOpenAI(
            base_url=server.base_url,
            api_key=server.api_key,
            http_client=httpx.AsyncClient(event_hooks={"request": [self.arecord]}),
        )


@pytest.fixture
def request_log() -> Iterator[RequestLog]:
    """A fresh request log; its sync clients are closed at teardown."""
    log = RequestLog()
    yield log
    for client in log.sync_clients:
        client.close()
