"""Find, create or update the assistant the graph runs — idempotently.

With an assistant id configured, that assistant is checked to exist (an unknown id is a clear
error naming the id and the endpoint). Otherwise the graph's assistant is looked up by name
among the endpoint's assistants: one whose metadata carries the fingerprint of the current
tools, instructions and model is reused; one with the same name but an older fingerprint is
updated in place; only when none exists is a new one created. Results are cached per process,
so starting twice (or building two graphs) never creates a second assistant. The steps are
written once (a generator of SDK calls) and carried out by a sync and an async driver.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import uuid
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from assistant_graph.graph.effects import adrive, drive
from assistant_graph.graph.errors import UnknownAssistantError
from langchain_community.agents.openai_assistant.base import _get_assistants_tool
from langchain_core.tools import BaseTool

if TYPE_CHECKING:
    import openai

FINGERPRINT_KEY = "assistant_graph_fingerprint"
"""Assistant metadata key holding the fingerprint of its tools, instructions and model."""
MANAGED_KEY = "assistant_graph_managed"
"""Assistant metadata key marking assistants this graph created (and may update)."""
_PROCESS_NONCE = uuid.uuid4().hex[:12]
"""Part of provisioning idempotency keys: dedups SDK retries without replaying stale answers
of other processes (across processes the name + fingerprint lookup prevents duplicates)."""

ToolSpec = BaseTool | dict[str, Any]


@dataclass(frozen=True)
class AssistantSpec:
    """What the provisioned assistant should look like."""

    name: str
    model: str
    instructions: str
    tools: tuple[dict[str, Any], ...]

    @classmethod
    def from_tools(
        cls, name: str, model: str, instructions: str, tools: Sequence[ToolSpec]
    ) -> AssistantSpec:
        """Build the spec; BaseTools become function definitions, built-in dicts pass through."""
        return cls(name, model, instructions, tuple(_get_assistants_tool(t) for t in tools))

    @cached_property
    def fingerprint(self) -> str:
        """Short hash of the tools, instructions and model (computed once per spec)."""
        payload = json.dumps(
            {"model": self.model, "instructions": self.instructions, "tools": self.tools},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, str]:
        """Metadata stored on the assistant."""
        return {FINGERPRINT_KEY: self.fingerprint, MANAGED_KEY: "true"}


@dataclass(frozen=True)
class _Request:
    """One call of ``client.beta.assistants``: ``method`` with ``args`` and ``kwargs``."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _plan(spec: AssistantSpec, assistant_id: str, base_url: str) -> Generator[_Request, Any, str]:
    """Find, check, update or create the assistant (written once for both drivers)."""
    from openai import NotFoundError

    if assistant_id:
        try:
            yield _Request("retrieve", (assistant_id,))
        except NotFoundError as exc:
            raise UnknownAssistantError(assistant_id, base_url.rstrip("/")) from exc
        return assistant_id
    listed = yield _Request("list", kwargs={"order": "desc", "limit": 100})
    existing = _choose([a for a in listed if a.name == spec.name], spec)
    if existing is not None and (existing.metadata or {}).get(FINGERPRINT_KEY) == spec.fingerprint:
        return existing.id
    fields = {
        "model": spec.model,
        "instructions": spec.instructions,
        "tools": list(spec.tools),
        "metadata": spec.metadata(),
    }
    if existing is not None:
        headers = _headers(spec, f"update:{existing.id}")
        yield _Request("update", (existing.id,), {**fields, "extra_headers": headers})
        return existing.id
    kwargs = {"name": spec.name, **fields, "extra_headers": _headers(spec, "create")}
    return (yield _Request("create", kwargs=kwargs)).id


_cache: dict[tuple[str, str], str] = {}
_sync_lock = threading.Lock()
_async_locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}


def _cache_key(client: Any, spec_or_id: AssistantSpec | str) -> tuple[str, str]:
    if isinstance(spec_or_id, str):
        return (str(client.base_url), f"id:{spec_or_id}")
    return (str(client.base_url), f"{spec_or_id.name}:{spec_or_id.fingerprint}")


def ensure_assistant(client: openai.OpenAI, spec: AssistantSpec, assistant_id: str = "") -> str:
    """Id of the assistant to run: the configured one (checked) or the provisioned one."""
    key = _cache_key(client, assistant_id or spec)

    def execute(request: _Request) -> Any:
        result = getattr(client.beta.assistants, request.method)(*request.args, **request.kwargs)
        return list(result) if request.method == "list" else result

    with _sync_lock:
        if key not in _cache:
            _remember(key, drive(_plan(spec, assistant_id, str(client.base_url)), execute))
        return _cache[key]


async def aensure_assistant(
    client: openai.AsyncOpenAI, spec: AssistantSpec, assistant_id: str = ""
) -> str:
    """Async :func:`ensure_assistant` (shares its per-process cache)."""
    key = _cache_key(client, assistant_id or spec)
    if key in _cache:
        return _cache[key]

    async def execute(request: _Request) -> Any:
        method = getattr(client.beta.assistants, request.method)
        if request.method == "list":
            return [a async for a in method(*request.args, **request.kwargs)]
        return await method(*request.args, **request.kwargs)

    lock = _async_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        if key not in _cache:
            _remember(key, await adrive(_plan(spec, assistant_id, str(client.base_url)), execute))
        return _cache[key]


def _remember(key: tuple[str, str], assistant_id: str) -> None:
    """Cache ``assistant_id`` for ``key``, forgetting it for the specs it was updated away from.

    An assistant updated in place no longer has its old tools: a later step with the old spec
    (tools that changed back, e.g. an edited MCP servers file) must update it again.
    """
    for stale in [k for k, v in _cache.items() if v == assistant_id and k[0] == key[0]]:
        del _cache[stale]
    _cache[key] = assistant_id


def _choose(same_name: list[Any], spec: AssistantSpec) -> Any:
    """Pick the assistant to reuse: current fingerprint first, else a managed one to update."""
    for assistant in same_name:
        if (assistant.metadata or {}).get(FINGERPRINT_KEY) == spec.fingerprint:
            return assistant
    for assistant in same_name:
        if (assistant.metadata or {}).get(MANAGED_KEY) == "true":
            return assistant
    return None


def _headers(spec: AssistantSpec, role: str) -> dict[str, str]:
    return {"Idempotency-Key": f"provision:{_PROCESS_NONCE}:{spec.name}:{spec.fingerprint}:{role}"}


def clear_cache() -> None:
    """Forget provisioned assistant ids (tests, or after deleting assistants)."""
    _cache.clear()
