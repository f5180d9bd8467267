"""How the server's built-in tools look to a chat model: as function tools it can call.

A Chat Completions model knows only function tools, so a run's built-in tool that the server
executes itself (``code_interpreter``, ``file_search``) is offered under a reserved
function name with a documented schema (:data:`BUILTIN_FUNCTIONS`), and the model's call of
that function comes back as a :class:`~.base.ToolCallRequest` of the built-in type. The run
worker stores such a call in the Assistants shape (``{"type": "code_interpreter", ...}``) and
shows it to the model again as the same function call (:func:`chat_tool_call`), so a
conversation replays exactly as the model produced it.
"""

from __future__ import annotations

import json
from typing import Any

CODE_INTERPRETER = "code_interpreter"
FILE_SEARCH = "file_search"

CODE_INTERPRETER_FUNCTION: dict[str, Any] = {
    "name": CODE_INTERPRETER,
    "description": (
        "Run Python code in a stateful, sandboxed Jupyter kernel (no network). Variables, "
        "imports and files persist between calls in this conversation. The conversation's "
        "uploaded files are in /mnt/data (named by file id); files the code writes to "
        "/mnt/data are returned to the user, who can download them as "
        "sandbox:/mnt/data/<name> links. Printed output and matplotlib figures are returned. "
        "Use it for arithmetic, data analysis and charts."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "The Python code to run."},
        },
        "required": ["code"],
    },
}
"""The function a chat model calls to run code (name ``code_interpreter``)."""

FILE_SEARCH_FUNCTION: dict[str, Any] = {
    "name": FILE_SEARCH,
    "description": (
        "Search the documents the user uploaded (the assistant's and this conversation's files) "
        "for passages relevant to a query. Results are numbered passages with their file names; "
        "when your answer uses a passage, cite it by writing its marker (such as 【0†source】) "
        "right after the sentence it supports."
    ),
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for, in a few words."},
        },
        "required": ["query"],
    },
}
"""The function a chat model calls to search the run's files (name ``file_search``)."""

BUILTIN_FUNCTIONS: dict[str, dict[str, Any]] = {
    CODE_INTERPRETER: CODE_INTERPRETER_FUNCTION,
    FILE_SEARCH: FILE_SEARCH_FUNCTION,
}
"""Built-in tool type → the function that stands for it in a chat request."""


def code_argument(arguments: str) -> str:
    """Return the code of a ``code_interpreter`` call: its ``code`` argument, else the raw text.

    Models sometimes send bare code instead of ``{"code": ...}``; it is run as sent.
    """
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments
    if isinstance(parsed, dict):
        for key in ("code", "input"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key])
    return arguments


def query_argument(arguments: str) -> str:
    """Return the query of a ``file_search`` call: its ``query`` argument, else the raw text."""
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return arguments.strip()
    if isinstance(parsed, dict):
        for key in ("query", "q", "search"):
            if isinstance(parsed.get(key), str):
                return str(parsed[key]).strip()
    return arguments.strip()


def chat_tool_call(call: dict[str, Any], arguments: str | None = None) -> dict[str, Any]:
    """Return a stored tool call (any type) as the assistant message's ``tool_calls`` entry.

    ``arguments``: what the model sent, for built-in calls whose public body does not show it
    (``file_search``).
    """
    if call["type"] == CODE_INTERPRETER:
        name = CODE_INTERPRETER
        arguments = json.dumps({"code": call[CODE_INTERPRETER]["input"]})
    elif call["type"] == FILE_SEARCH:
        name = FILE_SEARCH
        arguments = arguments or "{}"
    else:
        name = call["function"]["name"]
        arguments = call["function"]["arguments"]
    return {
        "id": call["id"],
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
