"""Fixtures for the assistants server tests: embedded servers on temporary SQLite files,
real ``openai`` clients pointed at them, the OpenAPI contract, a scripted model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from assistant_graph.assistants_server.settings import ServerSettings
from openapi_contract import Contract
from scripted_backend import ScriptedBackend
from server_helpers import CALCULATOR_TOOL, close_open_clients, make_client


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """A fresh SQLite file for one test."""
    return f"sqlite:///{tmp_path / 'assistants.sqlite3'}"


DATABASES = ("sqlite", "postgresql")
"""The engines the server's store-level tests run on (``sqlite_and_postgres_url``)."""


@pytest.fixture(params=DATABASES)
def sqlite_and_postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database on each engine in turn: a SQLite file, then a PostgreSQL database.

    A test module opts in by overriding ``database_url`` with it (the run lifecycle,
    idempotency and persistence tests do), as LangGraph's checkpointer tests run on each saver.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'assistants.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture
def start_server(database_url: str) -> Iterator[Callable[..., EmbeddedServer]]:
    """Start embedded servers (stopped at teardown): ``start_server(backend=..., **settings)``."""
    servers: list[EmbeddedServer] = []

    def start(backend: Any = None, **overrides: Any) -> EmbeddedServer:
        values: dict[str, Any] = {"port": 0, "database_url": database_url, "log_level": "warning"}
        values.update(overrides)
        server = EmbeddedServer(ServerSettings(**values), backend=backend)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def backend() -> ScriptedBackend:
    """A scripted model (queue turns with ``backend.add``)."""
    return ScriptedBackend()


@pytest.fixture
def server(start_server: Callable[..., EmbeddedServer], backend: ScriptedBackend) -> EmbeddedServer:
    """An embedded server running the scripted model."""
    return start_server(backend=backend)


@pytest.fixture(autouse=True)
def close_sdk_clients() -> Iterator[None]:
    """Close every client a test made (unclosed sockets are ResourceWarnings, i.e. errors)."""
    yield
    close_open_clients()


@pytest.fixture
def client(server: EmbeddedServer) -> Iterator[openai.OpenAI]:
    """A sync SDK client for ``server``."""
    yield make_client(server)


@pytest.fixture
def assistant(client: openai.OpenAI) -> Any:
    """An assistant with a calculator function tool and code_interpreter."""
    return client.beta.assistants.create(
        model="gpt-4o",
        name="Math tutor",
        instructions="You are a math tutor.",
        tools=[CALCULATOR_TOOL, {"type": "code_interpreter"}],
    )


@pytest.fixture(scope="session")
def contract(openapi_spec_path: Path) -> Contract:
    """The OpenAPI contract validator."""
    return Contract(openapi_spec_path)
