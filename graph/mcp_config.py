"""Read the MCP servers file: the ``mcpServers`` JSON that MCP clients share.

The file names the Model Context Protocol servers whose tools join the graph's local tools
(``Context.mcp_config``, env ``ASSISTANT_MCP_CONFIG``)::

    {
      "mcpServers": {
        "notes":   {"command": "python", "args": ["notes_server.py"], "env": {"TOKEN": "..."}},
        "weather": {"url": "http://127.0.0.1:8000/mcp", "transport": "http"}
      }
    }

A server with ``command`` is started as a subprocess speaking MCP over stdio (``args``, ``env``
and ``cwd`` optional); one with ``url`` is reached over HTTP (``transport``: ``http`` — the
default, also spelled ``streamable_http`` — or ``sse``; ``headers`` optional). ``type`` is read
as ``transport``, as some clients write it; ``"disabled": true`` leaves a server out. Other
keys (options of other MCP clients) are ignored. What this module returns is the
``connections`` mapping of ``langchain_mcp_adapters``' ``MultiServerMCPClient``.

A file that cannot be read or has the wrong shape raises :class:`ConfigurationError` saying
what is wrong where; whether a server then starts is found out later, per server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assistant_graph.graph.errors import ConfigurationError

MCP_CONFIG_UNREADABLE = (
    "Cannot read the MCP servers file {path} ({error}). Check the path given in "
    "ASSISTANT_MCP_CONFIG (or the mcp_config context field), or unset it to run without MCP tools."
)
MCP_CONFIG_INVALID = (
    "The MCP servers file {path} is not valid: {problem}. It must be JSON like "
    '{{"mcpServers": {{"<name>": {{"command": "<program>", "args": ["..."], "env": {{}}}}}}}} '
    'or {{"mcpServers": {{"<name>": {{"url": "http://127.0.0.1:8000/mcp", '
    '"transport": "http"}}}}}}.'
)
HTTP_TRANSPORTS = {
    "http": "streamable_http",
    "streamable_http": "streamable_http",
    "streamable-http": "streamable_http",
    "sse": "sse",
}
"""Transports accepted for a server given by ``url`` → the adapter's name for it."""


def load_mcp_connections(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read the file at ``path`` and return server name → connection, enabled servers only."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(MCP_CONFIG_UNREADABLE.format(path=path, error=exc)) from exc
    except json.JSONDecodeError as exc:
        raise _invalid(path, f"it is not JSON ({exc})") from exc
    return parse_mcp_servers(document, path)


def parse_mcp_servers(document: Any, path: str | Path = "<given>") -> dict[str, dict[str, Any]]:
    """Turn a parsed ``{"mcpServers": {...}}`` document into adapter connections."""
    if not isinstance(document, dict) or not isinstance(document.get("mcpServers"), dict):
        raise _invalid(path, 'the top level must be an object with an "mcpServers" object')
    connections: dict[str, dict[str, Any]] = {}
    for name, server in document["mcpServers"].items():
        if not isinstance(server, dict):
            raise _invalid(path, f"server {name!r} must be an object")
        if server.get("disabled") is True:
            continue
        connections[name] = _connection(name, server, path)
    return connections


def _connection(name: str, server: dict[str, Any], path: str | Path) -> dict[str, Any]:
    transport = server.get("transport", server.get("type"))
    if "command" in server:
        if transport not in (None, "stdio"):
            raise _invalid(path, f"server {name!r} has a command, so its transport is stdio")
        return _stdio(name, server, path)
    if "url" in server:
        if transport is None:
            transport = "http"
        if transport not in HTTP_TRANSPORTS:
            raise _invalid(
                path,
                f"server {name!r} has transport {transport!r}; use one of "
                f"{', '.join(HTTP_TRANSPORTS)}",
            )
        url = server["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _invalid(path, f"server {name!r} needs an http(s) URL, got {url!r}")
        connection: dict[str, Any] = {"transport": HTTP_TRANSPORTS[transport], "url": url}
        if "headers" in server:
            connection["headers"] = _string_map(name, "headers", server["headers"], path)
        return connection
    raise _invalid(path, f'server {name!r} needs either "command" (stdio) or "url" (HTTP)')


def _stdio(name: str, server: dict[str, Any], path: str | Path) -> dict[str, Any]:
    command = server["command"]
    if not isinstance(command, str) or not command.strip():
        raise _invalid(path, f"server {name!r} needs a non-empty command string")
    args = server.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise _invalid(path, f'server {name!r} "args" must be a list of strings')
    connection: dict[str, Any] = {"transport": "stdio", "command": command, "args": args}
    if "env" in server:
        connection["env"] = _string_map(name, "env", server["env"], path)
    if "cwd" in server:
        if not isinstance(server["cwd"], str):
            raise _invalid(path, f'server {name!r} "cwd" must be a string')
        connection["cwd"] = server["cwd"]
    return connection


def _string_map(name: str, key: str, value: Any, path: str | Path) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _invalid(path, f'server {name!r} "{key}" must map strings to strings')
    return dict(value)


def _invalid(path: str | Path, problem: str) -> ConfigurationError:
    return ConfigurationError(MCP_CONFIG_INVALID.format(path=path, problem=problem))
