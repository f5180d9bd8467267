"""The ``code_interpreter`` tool: a run's code executed in the thread's sandboxed session.

Each call runs its code through the server's interpreter pool with the thread's id as the
session key (so variables survive between calls and runs of one thread). The files the run
may use (assistant's, thread's and the run's ``tool_resources.code_interpreter.file_ids``, and
message attachments for the tool) are placed as ``/mnt/data/<file_id>``, as upstream. What it
yields, once stored: a ``logs`` output (printed text, and the error if the code raised), an
``image`` output per figure, each stored as a file with purpose ``assistants_output``, and a
file (same purpose) for every file the code wrote under ``/mnt/data``; the model gets the logs
and the names of the images and files (``sandbox:/mnt/data/<name>``) as the call's result.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from assistant_graph.assistants_server.backends.base import ToolCallRequest
from assistant_graph.assistants_server.backends.builtin_functions import (
    CODE_INTERPRETER,
    code_argument,
)
from assistant_graph.assistants_server.store.errors import NotFound
from assistant_graph.assistants_server.store.files import create_file, read_file_content
from assistant_graph.assistants_server.store.tool_steps import SavedCall, workspace_file_ids
from assistant_graph.assistants_server.worker.server_tools import Saver, ToolUnavailable
from sqlalchemy import Connection

if TYPE_CHECKING:
    from assistant_graph.assistants_server.interpreter import ExecutionResult, InterpreterPool
    from assistant_graph.assistants_server.settings import ServerSettings
    from assistant_graph.assistants_server.store import Store

logger = logging.getLogger(__name__)

OUTPUT_PURPOSE = "assistants_output"
MOUNT = "/mnt/data/"
SANDBOX_LINK = "sandbox:" + MOUNT
NO_OUTPUT = "(The code ran and printed nothing.)"
IMAGE_NOTE = "[An image was returned to the user as file {file_id}.]"
FILE_NOTE = (
    "[The file {path} was returned to the user as file {file_id}; link it as sandbox:{path}.]"
)


def _workspace_files(conn: Connection, owner: str, file_ids: list[str]) -> list[Any]:
    """Return the files' bytes as workspace files ``<file_id>`` (deleted files left out)."""
    from assistant_graph.assistants_server.interpreter import WorkspaceFile

    files = []
    for file_id in file_ids:
        try:
            files.append(WorkspaceFile(file_id, read_file_content(conn, owner, file_id)))
        except NotFound:
            logger.info("File %s is gone; it is not placed in the interpreter's workspace", file_id)
    return files


def _relative(name: str) -> str:
    return name[len(MOUNT) :] if name.startswith(MOUNT) else name.lstrip("/")


class CodeInterpreterTool:
    """Executes ``code_interpreter`` calls in an :class:`InterpreterPool`.

    Given ``settings``, the tool makes its pool on the first call (so a server that never runs
    code never loads the kernel machinery) and closes it in :meth:`aclose`; a ``pool`` given
    instead is used as it is and left open.
    """

    type = CODE_INTERPRETER

    def __init__(
        self, settings: ServerSettings | None = None, *, pool: InterpreterPool | None = None
    ) -> None:
        if (settings is None) == (pool is None):
            raise ValueError("CodeInterpreterTool needs either settings or a pool.")
        self._settings = settings
        self._pool = pool
        self._owns_pool = pool is None

    @property
    def pool(self) -> InterpreterPool:
        """The pool that runs the code (made on first use from the settings)."""
        if self._pool is None:
            from assistant_graph.assistants_server.interpreter import InterpreterPool

            assert self._settings is not None
            self._pool = InterpreterPool(self._settings)
        return self._pool

    async def aclose(self) -> None:
        """End the pool's sessions if this tool made the pool."""
        if self._owns_pool and self._pool is not None:
            await self._pool.aclose()

    async def offered(self, store: Store, run: dict[str, Any]) -> bool:
        """Return True: the interpreter needs no files."""
        return True

    def new_call(self, call_id: str, request: ToolCallRequest) -> dict[str, Any]:
        """Return the call as its step shows it before it runs: its code, no outputs yet."""
        code = code_argument(request.arguments)
        return {
            "id": call_id,
            "type": CODE_INTERPRETER,
            "code_interpreter": {"input": code, "outputs": []},
        }

    def output_delta(self, call: dict[str, Any]) -> dict[str, Any]:
        """Return the outputs of a stored call, indexed, as a step delta carries them."""
        outputs = call[CODE_INTERPRETER]["outputs"]
        return {"outputs": [{"index": i, **output} for i, output in enumerate(outputs)]}

    async def execute(self, store: Store, run: dict[str, Any], call: dict[str, Any]) -> Saver:
        """Run the call's code in the thread's session; return what stores its outputs."""
        from assistant_graph.assistants_server.interpreter import SandboxUnavailable

        owner, file_ids = await store.read(workspace_file_ids, run["id"], CODE_INTERPRETER)
        files = await store.read(_workspace_files, owner, file_ids) if file_ids else []
        try:
            result = await self.pool.execute(
                run["thread_id"], call[CODE_INTERPRETER]["input"], files
            )
        except SandboxUnavailable as exc:
            raise ToolUnavailable(str(exc)) from exc

        def save(conn: Connection, owner: str) -> SavedCall:
            return _save(conn, owner, call, result)

        return save


def _save(conn: Connection, owner: str, call: dict[str, Any], result: ExecutionResult) -> SavedCall:
    """Store the result's images and files; return the call with its outputs."""
    logs = result.logs
    if result.error and result.error not in logs:  # a time-out or a lost kernel, not a traceback
        logs = f"{logs.rstrip()}\n{result.error}" if logs.strip() else result.error
    outputs: list[dict[str, Any]] = [{"type": "logs", "logs": logs}] if logs else []
    notes = [logs] if logs else []
    images: list[str] = []
    for number, image in enumerate(result.images, start=1):
        stored = create_file(
            conn,
            owner,
            filename=f"{call['id']}-image-{number}.png",
            purpose=OUTPUT_PURPOSE,
            data=image,
        )
        images.append(stored["id"])
        outputs.append({"type": "image", "image": {"file_id": stored["id"]}})
        notes.append(IMAGE_NOTE.format(file_id=stored["id"]))
    files: list[dict[str, str]] = []
    for written in result.files:
        relative = _relative(written.name)
        stored = create_file(
            conn,
            owner,
            filename=relative.rsplit("/", 1)[-1],
            purpose=OUTPUT_PURPOSE,
            data=written.data,
        )
        path = MOUNT + relative
        files.append({"path": path, "file_id": stored["id"]})
        notes.append(FILE_NOTE.format(path=path, file_id=stored["id"]))
    body = {
        **call,
        CODE_INTERPRETER: {"input": call[CODE_INTERPRETER]["input"], "outputs": outputs},
    }
    return SavedCall(body, "\n".join(notes) or NO_OUTPUT, images, files)
