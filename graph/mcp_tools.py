"""MCP tools: the tools of the servers in the MCP servers file, as LangChain tools.

``langchain_mcp_adapters``' ``MultiServerMCPClient`` lists each configured server's tools
(see ``graph.mcp_config`` for the file). Every tool call opens its own session (for a stdio
server: starts the server), so a tool runs in whichever event loop calls it.

* **One core, two drivers.** Loading and calling are async (:func:`_aload`, the adapter's
  coroutines). The sync graph path runs them on a short-lived event loop in a helper thread
  (``anyio.from_thread.start_blocking_portal``); the async path awaits them directly (loading
  goes through ``asyncio.to_thread`` so the event loop never waits for a server to start).
* **Listed once per file content.** Tools are cached per file path and its modification time
  and size: editing the file reloads them (and changes the assistant's fingerprint).
* **A failing server is left out, never a crash.** A server that cannot start, or does not
  answer within :data:`REQUEST_TIMEOUT`, is logged (``ERROR``, naming it and the error) and
  its tools are missing until the file changes or the process restarts; the other servers'
  tools work. A tool whose server fails at call time, or that reports an error, raises, and
  the graph's tools node returns that to the model as a ``ToolMessage(status="error")``.
* Tool names the Assistants API cannot take (``^[A-Za-z0-9_-]{1,64}$``) are left out with a
  warning, as are tools whose name another tool already has (local tools win, then the
  server listed first).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant_graph.graph.errors import ConfigurationError
from assistant_graph.graph.mcp_config import load_mcp_connections
from langchain_core.tools import BaseTool, StructuredTool, ToolException

if TYPE_CHECKING:
    from assistant_graph.graph.context import Context

logger = logging.getLogger(__name__)

REQUEST_TIMEOUT = timedelta(seconds=60)
"""Longest wait for any answer of an MCP server (its start, the tool list, a tool call)."""
FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""Function names the Assistants API accepts."""
SERVER_LEFT_OUT = (
    "MCP server %r (from %s) was left out: it failed to start or to list its tools (%s: %s). "
    "Its tools are unavailable until the file changes or the process restarts."
)
TOOL_NAME_INVALID = (
    "MCP tool %r of server %r was left out: function names may only use letters, digits, _ "
    "and - (at most 64)."
)
MCP_NOT_INSTALLED = (
    "The MCP servers file {path} is configured, but langchain-mcp-adapters is not installed. "
    "Install the extra: pip install 'assistant-graph[mcp]' (or unset ASSISTANT_MCP_CONFIG)."
)
MCP_CALL_FAILED = (
    "MCP server {server!r} failed while running {tool} ({kind}: {error}); the tool did not run. "
    "Try again later, or answer without this tool."
)
TOOL_NAME_TAKEN = "MCP tool %r of server %r was left out: another tool already has that name."


@dataclass(frozen=True, eq=False)
class McpTools:
    """The tools listed from one version of an MCP servers file (compared by identity)."""

    path: str
    tools: tuple[BaseTool, ...] = ()
    failed_servers: dict[str, str] = field(default_factory=dict)
    """Server name → why it was left out."""


NO_MCP_TOOLS = McpTools(path="")
"""What a context without an MCP servers file gets."""

_cache: dict[str, tuple[tuple[int, int], McpTools]] = {}
_lock = threading.Lock()


def mcp_tools(path: str) -> McpTools:
    """Tools of the servers named in the file at ``path`` (cached per file version).

    Raises :class:`~graph.errors.ConfigurationError` when the file is missing or malformed.
    """
    key = str(Path(path).expanduser().resolve())
    with _lock:
        stamp = _stamp(key)
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        connections = load_mcp_connections(key)
        _check_installed(key)
        loaded = run_sync(_aload, key, connections)
        _cache[key] = (stamp, loaded)
        return loaded


async def amcp_tools(path: str) -> McpTools:
    """Async :func:`mcp_tools`: the cached tools, else a load that keeps the event loop free."""
    key = str(Path(path).expanduser().resolve())
    cached = _cache.get(key)
    if cached is not None and cached[0] == _stamp(key):
        return cached[1]
    return await asyncio.to_thread(mcp_tools, path)


def mcp_tools_for(context: Context) -> McpTools:
    """Return the MCP tools of ``context.mcp_config`` (none when it is empty)."""
    return mcp_tools(context.mcp_config) if context.mcp_config else NO_MCP_TOOLS


async def amcp_tools_for(context: Context) -> McpTools:
    """Async :func:`mcp_tools_for`."""
    return await amcp_tools(context.mcp_config) if context.mcp_config else NO_MCP_TOOLS


@functools.lru_cache(maxsize=64)
def usable_tools(local_names: frozenset[str], loaded: McpTools) -> tuple[BaseTool, ...]:
    """Return ``loaded``'s tools but those whose name a local tool (or an earlier one) has.

    Computed (and a left-out tool logged) once per tool list.
    """
    taken = set(local_names)
    usable = []
    for tool in loaded.tools:
        if tool.name in taken:
            logger.warning(TOOL_NAME_TAKEN, tool.name, _server_of(tool))
            continue
        taken.add(tool.name)
        usable.append(tool)
    return tuple(usable)


def run_sync(function: Any, *args: Any) -> Any:
    """Run the coroutine function ``function(*args)`` to completion from sync code.

    It runs on a new event loop in a helper thread, so this works whether or not the calling
    thread already runs an event loop.
    """
    from anyio.from_thread import start_blocking_portal

    with start_blocking_portal() as portal:
        return portal.call(function, *args)


def clear_cache() -> None:
    """Forget listed MCP tools (the next use lists them again)."""
    with _lock:
        _cache.clear()


def _check_installed(path: str) -> None:
    try:
        import langchain_mcp_adapters  # noqa: F401
    except ImportError as exc:
        raise ConfigurationError(MCP_NOT_INSTALLED.format(path=path)) from exc


def _stamp(path: str) -> tuple[int, int]:
    try:
        status = os.stat(path)
    except OSError:
        return (-1, -1)  # load_mcp_connections reports the problem
    return (status.st_mtime_ns, status.st_size)


async def _aload(path: str, connections: dict[str, dict[str, Any]]) -> McpTools:
    """List every server's tools at once; a server that fails is left out and logged."""
    from langchain_mcp_adapters.client import MultiServerMCPClient

    timed = {
        name: {**connection, "session_kwargs": {"read_timeout_seconds": REQUEST_TIMEOUT}}
        for name, connection in connections.items()
    }
    client = MultiServerMCPClient(timed, handle_tool_errors=False)
    names = list(timed)
    results = await asyncio.gather(
        *(_list_server(client, name) for name in names), return_exceptions=True
    )
    tools: list[BaseTool] = []
    failed: dict[str, str] = {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result  # cancellation and interpreter exits are not server failures
            failed[name] = f"{type(result).__name__}: {_describe(result)}"
            logger.error(SERVER_LEFT_OUT, name, path, type(result).__name__, _describe(result))
            continue
        for tool in result:
            if FUNCTION_NAME.match(tool.name):
                tools.append(_with_sync_path(tool, name))
            else:
                logger.warning(TOOL_NAME_INVALID, tool.name, name)
    return McpTools(path=path, tools=tuple(tools), failed_servers=failed)


async def _list_server(client: Any, name: str) -> list[BaseTool]:
    timeout = REQUEST_TIMEOUT.total_seconds()
    return await asyncio.wait_for(client.get_tools(server_name=name), timeout)


def _describe(error: BaseException) -> str:
    """Join the innermost messages of ``error`` (task groups wrap a failed start in groups)."""
    if isinstance(error, BaseExceptionGroup):
        return "; ".join(_describe(inner) for inner in error.exceptions)
    return str(error) or type(error).__name__


def _with_sync_path(tool: BaseTool, server: str) -> BaseTool:
    """Wrap the adapter's (async only) tool: one coroutine for both paths, clear failures.

    The sync path runs the coroutine via :func:`run_sync`. A failure that is not the tool's
    own reported error (the server cannot start, dies, or times out) becomes a
    ``ToolException`` naming the server, for the tools node to hand to the model.
    """
    if not isinstance(tool, StructuredTool) or tool.coroutine is None:
        return tool
    adapter_call = tool.coroutine
    name = tool.name

    async def call(**arguments: Any) -> Any:
        try:
            return await adapter_call(**arguments)
        except ToolException:
            raise
        except Exception as exc:
            raise ToolException(
                MCP_CALL_FAILED.format(
                    server=server, tool=name, kind=type(exc).__name__, error=_describe(exc)
                )
            ) from exc

    def call_sync(**arguments: Any) -> Any:
        return run_sync(functools.partial(call, **arguments))

    metadata = {**(tool.metadata or {}), "mcp_server": server}
    return tool.model_copy(update={"func": call_sync, "coroutine": call, "metadata": metadata})


def _server_of(tool: BaseTool) -> str:
    return str((tool.metadata or {}).get("mcp_server", "?"))


def tool_names(tools: Sequence[Any]) -> frozenset[str]:
    """Names of the ``BaseTool`` objects in ``tools`` (built-in tool dicts have none)."""
    return frozenset(tool.name for tool in tools if isinstance(tool, BaseTool))
