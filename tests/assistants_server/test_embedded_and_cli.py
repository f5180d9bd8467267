"""The in-process EmbeddedServer, the shared singleton, cheap package import, and the serve CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer, shared_embedded_server
from assistant_graph.assistants_server.settings import ServerSettings
from server_helpers import sdk_client


def test_embedded_server_lifecycle(database_url: str) -> None:
    """start() serves on a free loopback port with a placeholder key; stop() is idempotent."""
    server = EmbeddedServer(ServerSettings(port=0, database_url=database_url, log_level="warning"))
    with server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.base_url.endswith("/v1")
        assert server.port != 0 and server.api_key == "embedded"
        client = sdk_client(server.base_url, server.api_key)
        assert client.beta.assistants.create(model="m").id.startswith("asst_")
    server.stop()
    assert not server.running


def test_shared_embedded_server_is_a_singleton() -> None:
    """shared_embedded_server() returns one running server per process (data in
    ASSISTANT_GRAPH_HOME)."""
    first = shared_embedded_server()
    assert shared_embedded_server() is first and first.running
    client = sdk_client(first.base_url, first.api_key)
    assert client.beta.threads.create().id.startswith("thread_")


def test_importing_the_package_starts_nothing() -> None:
    """import assistant_graph.assistants_server loads neither FastAPI, uvicorn nor SQLAlchemy."""
    code = (
        "import sys, assistants_server; "
        "print(sorted(m for m in ('fastapi', 'uvicorn', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_serve_cli_prints_url_and_backend_not_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI serves on the flag's settings, prints URL and backend, never the keys."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-model-secret")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "assistant_graph.assistants_server.cli",
            "--port",
            "0",
            "--backend",
            "offline",
            "--database-url",
            f"sqlite:///{tmp_path / 'cli.sqlite3'}",
            "--api-key",
            "server-secret",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line and "backend: offline" in line
        assert "secret" not in line
        url = line.split("listening on ", 1)[1].split(" ", 1)[0]
        client = sdk_client(url, "server-secret")
        assert client.beta.assistants.list().data == []
        with pytest.raises(openai.AuthenticationError):
            sdk_client(url, "nope").beta.assistants.list()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "secret" not in err


def test_cli_rejects_bad_flags(capsys: Any) -> None:
    """A wrong --backend value exits with status 2 and argparse's message."""
    from assistant_graph.assistants_server.cli import main

    with pytest.raises(SystemExit) as info:
        main(["--backend", "gpt"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_serve_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` flags win over the variables; settings without a flag keep the environment's."""
    from assistant_graph.assistants_server.cli import build_parser, settings_from_args

    monkeypatch.setenv("ASSISTANTS_SERVER_PORT", "1234")
    monkeypatch.setenv("ASSISTANTS_SERVER_ALLOWED_HOSTS", "from-env.example")
    monkeypatch.setenv("ASSISTANTS_SERVER_MAX_BODY_BYTES", "999")
    args = build_parser().parse_args(
        ["--port", "5", "--allowed-host", "a.example", "--allowed-host", "b.example"]
    )
    settings = settings_from_args(args)
    assert settings.port == 5 and settings.allowed_hosts == ("a.example", "b.example")
    assert settings.max_body_bytes == 999


def test_serve_with_a_bad_variable_exits_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A variable that cannot work stops `serve` before it starts, with exit status 2 and a
    message naming the variable (its value, which may be secret, is not echoed)."""
    from assistant_graph.assistants_server.cli import main

    monkeypatch.setenv("ASSISTANTS_SERVER_MODEL_MAX_RETRIES", "many")
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "ASSISTANTS_SERVER_MODEL_MAX_RETRIES" in err and "many" not in err


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop does not exist on Windows")
def test_embedded_server_runs_on_uvloop_where_installed(database_url: str) -> None:
    """The embedded server's loop is uvloop (a dependency off Windows), as ``serve`` picks."""
    import asyncio

    import uvloop

    loops: list[Any] = []

    async def loop_type() -> None:
        loops.append(type(asyncio.get_running_loop()))

    with EmbeddedServer(ServerSettings(port=0, database_url=database_url)) as server:
        asyncio.run_coroutine_threadsafe(loop_type(), server.loop).result(timeout=10)
        with sdk_client(server.base_url, server.api_key) as client:
            assert client.beta.assistants.list().data == []
    assert loops == [uvloop.Loop]


def test_a_stopped_server_leaves_no_pending_task(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """After a streamed run, stop() ends every task of the server's loop: nothing is reported
    as "destroyed but pending" when the loop is collected."""
    import gc
    import logging

    caplog.set_level(logging.ERROR, logger="asyncio")
    with EmbeddedServer(ServerSettings(port=0, database_url=database_url)) as server:
        client = sdk_client(server.base_url, server.api_key)
        assistant = client.beta.assistants.create(model="m")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id) as s:
            s.until_done()
    gc.collect()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
