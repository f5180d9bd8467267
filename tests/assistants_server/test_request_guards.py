"""Every response carries ``x-request-id``; a loopback server answers only loopback host names
(DNS rebinding guard), with an allow-list setting."""

from __future__ import annotations

import re
from typing import Any

import httpx
import openai
import pytest
from assistant_graph.assistants_server.backends.base import ModelTurn
from assistant_graph.assistants_server.settings import ServerSettings, SettingsError
from scripted_backend import ScriptedBackend
from server_helpers import make_client

REQUEST_ID = re.compile(r"req_[A-Za-z0-9]{24}")


def test_every_sdk_response_has_a_request_id(
    client: openai.OpenAI, backend: ScriptedBackend
) -> None:
    """Objects, lists, errors and streams expose the server's x-request-id as the SDK's
    ``_request_id``; each request gets its own."""
    backend.add(ModelTurn(text="hello"))
    assistant = client.beta.assistants.create(model="m")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    listed = client.beta.threads.messages.list(thread.id)
    ids = [assistant._request_id, thread._request_id, listed._request_id]  # type: ignore[attr-defined]
    for value in ids:
        assert value is not None and REQUEST_ID.fullmatch(value), value
    assert len(set(ids)) == 3
    with pytest.raises(openai.NotFoundError) as missing:
        client.beta.assistants.retrieve("asst_missing")
    assert missing.value.request_id is not None
    assert REQUEST_ID.fullmatch(missing.value.request_id)
    with client.beta.threads.runs.with_streaming_response.create(
        thread.id, assistant_id=assistant.id, stream=True
    ) as response:
        assert REQUEST_ID.fullmatch(response.headers["x-request-id"])
        response.read()


def test_requests_refused_before_the_routes_have_a_request_id(start_server: Any) -> None:
    """A request refused by the key check still carries x-request-id."""
    server = start_server(api_keys=("sk-right",))
    with pytest.raises(openai.AuthenticationError) as refused:
        make_client(server, api_key="sk-wrong").beta.assistants.list()
    assert refused.value.request_id is not None
    assert REQUEST_ID.fullmatch(refused.value.request_id)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8321", "localhost", "LOCALHOST:9", "[::1]", "[::1]:80"]
)
def test_a_loopback_server_answers_loopback_host_names(server: Any, host: str) -> None:
    """Loopback names, with any port, are accepted."""
    response = httpx.get(server.base_url + "/assistants", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "host", ["attacker.example", "attacker.example:8321", "127.0.0.1.attacker.example", "[::2]"]
)
def test_a_loopback_server_refuses_other_host_names(server: Any, host: str) -> None:
    """Another host name (a page re-pointed at 127.0.0.1 by DNS rebinding) gets 400
    ``invalid_host`` in OpenAI's error shape, saying how to allow the name; nothing runs."""
    response = httpx.post(
        server.base_url + "/assistants", json={"model": "m"}, headers={"Host": host}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_host" and error["param"] == "Host"
    assert "ASSISTANTS_SERVER_ALLOWED_HOSTS" in error["message"]
    assert REQUEST_ID.fullmatch(response.headers["x-request-id"])
    assert httpx.get(server.base_url + "/assistants").json()["data"] == []


def test_the_allow_list_setting_replaces_the_loopback_names(start_server: Any) -> None:
    """ASSISTANTS_SERVER_ALLOWED_HOSTS names the accepted hosts; ``*`` accepts any."""
    server = start_server(allowed_hosts=("assistants.internal",))
    url = server.base_url + "/assistants"
    assert httpx.get(url, headers={"Host": "assistants.internal:8321"}).status_code == 200
    assert httpx.get(url, headers={"Host": "localhost"}).status_code == 400
    anything = start_server(allowed_hosts=("*",))
    url = anything.base_url + "/assistants"
    assert httpx.get(url, headers={"Host": "attacker.example"}).status_code == 200


def test_which_hosts_a_server_accepts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback bind: loopback names only; any other bind address: every name (API keys are
    the guard there) unless the allow-list is set; the variable is comma-separated."""
    assert ServerSettings(host="127.0.0.1").resolved_allowed_hosts() == (
        "127.0.0.1",
        "localhost",
        "[::1]",
    )
    assert ServerSettings(host="::1").resolved_allowed_hosts() != ()
    assert ServerSettings(host="0.0.0.0").resolved_allowed_hosts() == ()
    monkeypatch.setenv("ASSISTANTS_SERVER_ALLOWED_HOSTS", "a.example, b.example")
    assert ServerSettings(host="0.0.0.0").resolved_allowed_hosts() == ("a.example", "b.example")


@pytest.mark.parametrize("value", ["not a host", "http://a.example", "a.example:8321", "a/b"])
def test_an_allow_list_entry_that_is_no_host_name_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A URL, a port or a blank inside ``ASSISTANTS_SERVER_ALLOWED_HOSTS`` could never match a
    ``Host`` header (every request would get 400): the settings refuse it, naming the variable
    and saying what to write, instead of starting a server that answers nothing."""
    monkeypatch.setenv("ASSISTANTS_SERVER_ALLOWED_HOSTS", f"ok.example,{value}")
    with pytest.raises(SettingsError) as caught:
        ServerSettings()
    message = str(caught.value)
    assert "ASSISTANTS_SERVER_ALLOWED_HOSTS" in message
    assert "without scheme, port or path" in message
