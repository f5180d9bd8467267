"""Tools the server executes itself inside a run, and what executing one call yields.

A :class:`ServerTool` is a built-in Assistants tool type (``code_interpreter``,
``file_search``) that the run worker executes between model turns instead of handing
it to the client: :mod:`.tool_loop` records its calls as a ``tool_calls`` step, asks each
call's tool to :meth:`~ServerTool.execute` it, stores what it yields in one transaction, and
calls the model again with the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.store.tool_steps import SavedCall
from sqlalchemy import Connection

if TYPE_CHECKING:
    from assistant_graph.assistants_server.store import Store


class ToolUnavailable(Exception):
    """A server-side tool cannot execute at all (e.g. no sandbox); the run fails with this.

    ``message`` becomes the run's ``last_error.message`` (``code`` its code): say what is
    missing and what the operator can do.
    """

    def __init__(self, message: str, *, code: str = "server_error") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


Saver = Callable[[Connection, str], SavedCall]
"""Stores an executed call's files (``owner``: the thread's key) in its step's transaction and
returns the call's final body, the model's text and what it produced."""


class ServerTool(Protocol):
    """A built-in tool type the server executes (see the module docstring)."""

    type: str
    """The Assistants tool type, e.g. ``"code_interpreter"``."""

    async def offered(self, store: Store, run: dict[str, Any]) -> bool:
        """Whether the model is offered the tool in this run (e.g. only with files to search)."""
        ...

    def new_call(self, call_id: str, request: ToolCallRequest) -> dict[str, Any]:
        """Return the call's step body before execution (its input, empty outputs)."""
        ...

    def output_delta(self, call: dict[str, Any]) -> dict[str, Any]:
        """Return what a ``thread.run.step.delta`` adds to a stored call after its input."""
        ...

    async def execute(self, store: Store, run: dict[str, Any], call: dict[str, Any]) -> Saver:
        """Execute ``call`` for ``run``; return the function that stores its result.

        Raise :class:`ToolUnavailable` when the tool cannot run at all; a failure of the
        call itself (an exception in the user's code) is an output, not an exception.
        """
        ...
