"""create_backend: which backend the settings (and environment variables) select."""

from __future__ import annotations

import asyncio
import json

import pytest
from assistant_graph.assistants_server.backends import (
    ChatCompletionsBackend,
    ModelBackend,
    ModelRequest,
    OfflineBackend,
    create_backend,
)
from assistant_graph.assistants_server.settings import ServerSettings


def close(backend: ModelBackend) -> None:
    asyncio.run(backend.aclose())


def test_fresh_environment_gets_the_offline_model():
    """With no key and no endpoint configured, auto means the offline model."""
    backend = create_backend(ServerSettings())
    assert isinstance(backend, OfflineBackend)
    assert isinstance(backend, ModelBackend)
    assert backend.latency_ms == 0 and backend.rules == []


def test_openai_key_in_the_environment_selects_openai(monkeypatch):
    """OPENAI_API_KEY alone selects chat-completions against OpenAI's public endpoint."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("ASSISTANTS_SERVER_MODEL_TIMEOUT", "12")
    monkeypatch.setenv("ASSISTANTS_SERVER_MODEL_MAX_RETRIES", "5")
    monkeypatch.setenv("ASSISTANTS_SERVER_DEFAULT_MODEL", "gpt-4.1-mini")
    settings = ServerSettings()
    backend = create_backend(settings)
    assert isinstance(backend, ChatCompletionsBackend)
    assert backend.base_url == "https://api.openai.com/v1"
    assert (backend.timeout_seconds, backend.max_retries) == (12.0, 5)
    assert backend.default_model == "gpt-4.1-mini"
    close(backend)


def test_base_url_alone_selects_a_local_endpoint(monkeypatch):
    """OPENAI_BASE_URL without a key (Ollama, vLLM) selects chat-completions at that URL."""
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:11434/v1/")
    backend = create_backend(ServerSettings())
    assert isinstance(backend, ChatCompletionsBackend)
    assert backend.base_url == "http://localhost:11434/v1"
    close(backend)


def test_explicit_offline_wins_over_a_key():
    """--backend offline keeps the offline model even when a key is set."""
    settings = ServerSettings(backend="offline", model_api_key="sk-x", offline_latency_ms=25)
    backend = create_backend(settings)
    assert isinstance(backend, OfflineBackend) and backend.latency_ms == 25


def test_offline_script_setting_is_loaded(tmp_path, monkeypatch):
    """ASSISTANTS_SERVER_OFFLINE_SCRIPT points the offline model at a script file."""
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"match": "ping", "turns": [{"text": "pong"}]}]))
    monkeypatch.setenv("ASSISTANTS_SERVER_OFFLINE_SCRIPT", str(path))
    backend = create_backend(ServerSettings())
    request = ModelRequest(model="m", messages=[{"role": "user", "content": "ping"}])
    assert asyncio.run(backend.complete(request)).text == "pong"


@pytest.mark.parametrize(
    ("values", "names"),
    [
        (
            {"offline_script": "/nonexistent/script.json"},
            ["ASSISTANTS_SERVER_OFFLINE_SCRIPT", "/nonexistent/script.json"],
        ),
        ({"offline_latency_ms": -1}, ["ASSISTANTS_SERVER_OFFLINE_LATENCY_MS"]),
        ({"offline_latency_ms": float("nan")}, ["ASSISTANTS_SERVER_OFFLINE_LATENCY_MS"]),
        ({"backend": "chat-completions"}, ["OPENAI_API_KEY", "OPENAI_BASE_URL"]),
        ({"model_base_url": "localhost:11434"}, ["OPENAI_BASE_URL", "http://"]),
        (
            {"model_api_key": "k", "model_timeout_seconds": 0},
            ["ASSISTANTS_SERVER_MODEL_TIMEOUT"],
        ),
        (
            {"model_api_key": "k", "model_max_retries": -1},
            ["ASSISTANTS_SERVER_MODEL_MAX_RETRIES"],
        ),
        ({"backend": "gpt"}, ["ASSISTANTS_SERVER_BACKEND", "offline"]),
        ({"port": "eighty"}, ["ASSISTANTS_SERVER_PORT", "integer"]),
    ],
)
def test_bad_configuration_names_the_setting(values, names):
    """A configuration that cannot work raises ValueError naming the variable to fix."""
    with pytest.raises(ValueError) as caught:
        create_backend(ServerSettings(**values))
    for name in names:
        assert name in str(caught.value)


def test_a_bad_variable_is_named_and_a_secret_never_echoed(monkeypatch):
    """Settings read from the environment are validated there too; the error names the
    variable and does not repeat the model key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    monkeypatch.setenv("ASSISTANTS_SERVER_MODEL_TIMEOUT", "-5")
    with pytest.raises(ValueError) as caught:
        ServerSettings()
    assert "ASSISTANTS_SERVER_MODEL_TIMEOUT" in str(caught.value)
    assert "sk-secret-value" not in str(caught.value)
    assert "sk-secret-value" not in repr(ServerSettings(model_timeout_seconds=5))


def test_invalid_script_content_is_reported_with_the_setting(tmp_path):
    """A script with a bad rule is reported with the setting name and the rule's problem."""
    path = tmp_path / "script.json"
    path.write_text(json.dumps([{"match": "x", "turns": [{"txt": "typo"}]}]))
    with pytest.raises(ValueError) as caught:
        create_backend(ServerSettings(offline_script=str(path)))
    message = str(caught.value)
    assert "ASSISTANTS_SERVER_OFFLINE_SCRIPT" in message and "unknown keys ['txt']" in message
