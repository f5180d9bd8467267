"""Fixtures shared by the whole suite.

Every test runs with a clean configuration: no model key or endpoint from the developer's
shell leaks in (so the embedded server always uses the offline model), and the project's
data directory is a fresh temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer, PostgresUnavailable

CONFIG_VARIABLES = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "ASSISTANTS_BASE_URL",
    "ASSISTANTS_API_KEY",
    "ASSISTANT_ID",
    "ASSISTANT_NAME",
    "ASSISTANT_MODEL",
    "ASSISTANT_INSTRUCTIONS",
    "ASSISTANT_CHECK_EVERY_MS",
    "ASSISTANT_INTERRUPT_BEFORE_TOOLS",
    "ASSISTANT_MCP_CONFIG",
)

SPEC_ENV_VAR = "ASSISTANTS_OPENAPI_SPEC"
WORKSPACE_SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "openapi.yaml"


@pytest.fixture(autouse=True)
def isolated_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
):
    """Remove model/endpoint settings from the environment and use a temporary data dir."""
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("ASSISTANTS_SERVER_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_GRAPH_HOME", str(tmp_path_factory.mktemp("assistant-graph-home")))
    monkeypatch.setenv("LANGSMITH_TRACING", "false")
    monkeypatch.setenv("LANGCHAIN_TRACING_V2", "false")


@pytest.fixture(scope="session")
def openapi_spec_path() -> Path:
    """Path of OpenAI's official OpenAPI spec (``$ASSISTANTS_OPENAPI_SPEC`` or the workspace copy).

    The spec is not vendored into the project. Outside this workspace, tests that need it
    skip with the reason; in CI it is always present.
    """
    configured = os.environ.get(SPEC_ENV_VAR)
    path = Path(configured) if configured else WORKSPACE_SPEC
    if not path.is_file():
        pytest.skip(f"OpenAI's openapi.yaml not found at {path}; set {SPEC_ENV_VAR} to its path.")
    return path


REQUIRE_POSTGRES_ENV_VAR = "ASSISTANT_GRAPH_REQUIRE_POSTGRES"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (temporary directory, loopback port).

    When it cannot be started the tests that need it skip with the reason, except with
    ``ASSISTANT_GRAPH_REQUIRE_POSTGRES=1`` (CI sets it): then they fail.
    """
    server = PostgresServer()
    try:
        server.start()
    except PostgresUnavailable as exc:
        server.stop()
        if os.environ.get(REQUIRE_POSTGRES_ENV_VAR) == "1":
            pytest.fail(f"PostgreSQL is required ({REQUIRE_POSTGRES_ENV_VAR}=1): {exc}")
        pytest.skip(f"PostgreSQL could not be started: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty PostgreSQL database for one test (libpq URL ``postgresql://...``)."""
    return postgres_server.create_database()
