"""Property-based: whatever a client sends to any endpoint of the server's own OpenAPI schema,
the answer is never a 5xx, and a rejected request (4xx) stores nothing.

Hypothesis draws, for every operation FastAPI lists in ``/v1/openapi.json``: path ids (real
ones, unknown ones, odd text), query values, and bodies that are either arbitrary JSON
objects over the operation's own field names or a valid body with one value replaced. Text
includes lone surrogates (``"\\ud800"``), blanks and huge numbers. The model holds every
call, so no row appears except through the request under test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy
from assistant_graph.assistants_server.backends.base import ModelTurn, ToolCallRequest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted_backend import HOLD, ScriptedBackend
from server_helpers import CALCULATOR_TOOL, make_client, wait_for_status

EXAMPLES_PER_OPERATION = 15
"""Bounded so the whole property runs in seconds in CI."""

ODD_TEXT = ["", " ", "\ud800", "a\udfff b", "\x00", "é✓😀", "x" * 600, "%ED%A0%80"]
"""Text that has broken servers before: empty, blank, lone surrogates, NUL, long."""

text = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=20))
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(text, children, max_size=3)
    ),
    max_leaves=8,
)

VALID_BODIES = {
    ("post", "/v1/assistants"): {"model": "m", "name": "n", "metadata": {"k": "v"}},
    ("post", "/v1/assistants/{assistant_id}"): {"name": "n", "instructions": "i"},
    ("post", "/v1/threads"): {"messages": [{"role": "user", "content": "hi"}]},
    ("post", "/v1/threads/{thread_id}"): {"metadata": {"k": "v"}},
    ("post", "/v1/threads/{thread_id}/messages"): {"role": "user", "content": "hi"},
    ("post", "/v1/threads/{thread_id}/messages/{message_id}"): {"metadata": {"k": "v"}},
    ("post", "/v1/threads/runs"): {
        "assistant_id": "{assistant_id}",
        "thread": {"messages": [{"role": "user", "content": "hi"}]},
    },
    ("post", "/v1/threads/{thread_id}/runs"): {
        "assistant_id": "{assistant_id}",
        "additional_messages": [{"role": "user", "content": "hi"}],
        "max_prompt_tokens": 500,
    },
    ("post", "/v1/threads/{thread_id}/runs/{run_id}"): {"metadata": {"k": "v"}},
    ("post", "/v1/threads/{thread_id}/runs/{run_id}/submit_tool_outputs"): {
        "tool_outputs": [{"tool_call_id": "{call_id}", "output": "42"}]
    },
}


def _field_names(schema: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    """The top-level field names of the operation's request body (from the app's schema)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    ref = json.dumps(body.get("schema", {}))
    names: list[str] = []
    for name, component in schema["components"]["schemas"].items():
        if f'"#/components/schemas/{name}"' in ref:
            names += list(component.get("properties", {}))
    return names


def _string_paths(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the text values of a JSON body are."""
    if isinstance(body, dict):
        return [p for key, item in body.items() for p in _string_paths(item, (*path, key))]
    if isinstance(body, list):
        return [p for index, item in enumerate(body) for p in _string_paths(item, (*path, index))]
    return [path] if isinstance(body, str) else []


def _replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    """``body`` with the value at ``path`` replaced."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(body, dict):
        return {**body, head: _replaced(body[head], rest, value)}
    return [*body[:head], _replaced(body[head], rest, value), *body[head + 1 :]]


def _paths(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every value's place in a JSON body (the body itself excluded)."""
    items = (
        body.items()
        if isinstance(body, dict)
        else enumerate(body)
        if isinstance(body, list)
        else ()
    )
    return [p for key, item in items for p in [(*path, key), *_paths(item, (*path, key))]]


def _mutated(draw: Any, body: Any) -> Any:
    """A valid body with a lone surrogate in one text value, or one value replaced by any JSON."""
    strings = _string_paths(body)
    if strings and draw(st.booleans()):
        path = draw(st.sampled_from(strings))
        return _replaced(body, path, draw(st.sampled_from(["\ud800", "x\udfff", "\udbff!"])))
    return _replaced(body, draw(st.sampled_from(_paths(body))), draw(json_values))


class Fixture:
    """A server, real ids for every path parameter, and a row counter of its database."""

    def __init__(self, server: EmbeddedServer, database_url: str) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url.removesuffix("/v1"), timeout=30)
        self.engine = sqlalchemy.create_engine(database_url)
        self.tables = sqlalchemy.MetaData()
        self.tables.reflect(self.engine)
        client = make_client(server)
        assistant = client.beta.assistants.create(model="m", tools=[CALCULATOR_TOOL])
        waiting = client.beta.threads.create(messages=[{"role": "user", "content": "6*7?"}])
        run = client.beta.threads.runs.create(waiting.id, assistant_id=assistant.id)
        run = wait_for_status(client, waiting.id, run.id, {"requires_action"})
        idle = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
        message = client.beta.threads.messages.list(idle.id).data[0]
        step = client.beta.threads.runs.steps.list(run.id, thread_id=waiting.id).data[0]
        assert run.required_action is not None
        self.call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
        self.ids = {
            "assistant_id": [assistant.id, "asst_unknown"],
            "thread_id": [waiting.id, idle.id, "thread_unknown"],
            "message_id": [message.id, "msg_unknown"],
            "run_id": [run.id, "run_unknown"],
            "step_id": [step.id, "step_unknown"],
        }

    def rows(self) -> dict[str, int]:
        count = sqlalchemy.func.count()
        with self.engine.connect() as conn:
            return {
                name: conn.execute(sqlalchemy.select(count).select_from(table)).scalar_one()
                for name, table in self.tables.tables.items()
            }

    def fill(self, body: Any) -> Any:
        """Put the real assistant and tool call ids into a valid body's placeholders."""
        raw = json.dumps(body)
        raw = raw.replace("{assistant_id}", self.ids["assistant_id"][0])
        return json.loads(raw.replace("{call_id}", self.call_id))


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    database_url = f"sqlite:///{tmp_path_factory.mktemp('properties') / 'a.sqlite3'}"
    call = ModelTurn(tool_calls=[ToolCallRequest("calculator", '{"expression": "6*7"}')])
    backend = ScriptedBackend(call, *[HOLD] * 10_000)
    server = EmbeddedServer(_settings(database_url=database_url), backend=backend).start()
    try:
        target = Fixture(server, database_url)
        yield target
        target.http.close()
        target.engine.dispose()
    finally:
        server.stop()


def _settings(**values: Any) -> Any:
    from assistant_graph.assistants_server.settings import ServerSettings

    # Explicit values: the module's server is made before the suite's environment clean-up.
    return ServerSettings(
        port=0,
        host="127.0.0.1",
        log_level="critical",
        backend="offline",
        api_keys=(),
        allowed_hosts=(),
        **values,
    )


def _operation_ids() -> list[str]:
    # The operations of the app's schema, found without a server (same FastAPI app).
    from assistant_graph.assistants_server.app import create_app

    schema = create_app(_settings(database_url="sqlite://"), backend=ScriptedBackend()).openapi()
    return [f"{method} {path}" for path, item in schema["paths"].items() for method in item]


@pytest.mark.parametrize("operation_id", _operation_ids())
def test_no_request_gets_a_5xx_and_a_rejected_one_stores_nothing(
    target: Fixture, operation_id: str
) -> None:
    """For drawn path ids, query values and bodies: status < 500; on 4xx no table gained or
    lost a row; every error has OpenAI's shape."""
    method, path = operation_id.split(" ", 1)
    schema = target.http.get("/v1/openapi.json").json()
    operation = schema["paths"][path][method]
    names = [*_field_names(schema, operation), "colour"]
    valid = VALID_BODIES.get((method, path))

    @st.composite
    def requests(draw: Any) -> tuple[str, dict[str, Any], Any]:
        url = path
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path":
                name = parameter["name"]
                choices = [*target.ids.get(name, []), "x"]
                value = draw(st.one_of(st.sampled_from(choices), st.text(min_size=1, max_size=8)))
                url = url.replace("{" + name + "}", quote(value, safe="", errors="surrogatepass"))
        query = {}
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and draw(st.booleans()):
                query[parameter["name"]] = draw(
                    st.one_of(st.integers(-5, 500).map(str), st.sampled_from(["asc", "desc"]), text)
                )
        body: Any = None
        if "requestBody" in operation:
            if valid is not None and draw(st.integers(0, 2)):
                body = _mutated(draw, target.fill(valid))
            else:
                body = draw(st.dictionaries(st.sampled_from(names), json_values, max_size=4))
        return url, query, body

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(requests())
    def check(request: tuple[str, dict[str, Any], Any]) -> None:
        url, query, body = request
        before = target.rows()
        content = None if body is None else json.dumps(body).encode()
        # Encoded as a client would send it: lone surrogates as UTF-8 bytes (%ED%A0%80).
        query_string = urlencode(query, errors="surrogatepass")
        response = httpx.request(
            method.upper(),
            target.server.base_url.removesuffix("/v1") + url + ("?" + query_string) * bool(query),
            content=content,
            headers={"content-type": "application/json"},
            timeout=30,
        )
        assert response.status_code < 500, (url, body, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) == {"message", "type", "param", "code"} and error["message"]
            assert target.rows() == before, (url, body, response.text)

    check()
