"""A small stdio MCP server for the tests, written with the ``mcp`` package (FastMCP).

Tools: ``reverse_text`` (returns its text reversed) and ``explode`` (always raises). With
``MCP_TEST_REFUSE_START_FILE`` set to a path that exists, the server exits at once instead of
serving: a server that fails to start (the tests create the file after the tools were listed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mcp.server.fastmcp import FastMCP

server = FastMCP("assistant-graph-test-tools", log_level="WARNING")


@server.tool()
def reverse_text(text: str) -> str:
    """Return the text reversed, character by character."""
    return text[::-1]


@server.tool()
def explode(reason: str) -> str:
    """Always fail, with the given reason."""
    raise ValueError(f"exploded on purpose: {reason}")


if __name__ == "__main__":
    refuse = os.environ.get("MCP_TEST_REFUSE_START_FILE")
    if refuse and Path(refuse).exists():
        print("refusing to start", file=sys.stderr)
        sys.exit(3)
    server.run("stdio")
