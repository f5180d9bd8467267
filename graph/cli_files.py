"""Files an answer returned (images, files the server's code wrote), for the command line.

Without ``--save-files`` the CLI only names them; with it, each is downloaded through the
Files API (``client.files.content``) into the working directory under its own file name, never
over an existing file (the id is added to the name instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from assistant_graph.graph import clients
from assistant_graph.graph.context import Context

FILES_HINT = "files returned: {ids} (save them here with --save-files)"
SAVED = "saved {name} ({file_id})"


def returned_file_ids(answer: Any) -> list[str]:
    """Return the ids of the images and files the answer's run returned."""
    return list(answer.response_metadata.get("assistant_file_ids") or [])


def _target(directory: Path, filename: str, file_id: str) -> Path:
    name = Path(filename).name or file_id
    target = directory / name
    if target.exists():
        stem, dot, suffix = name.partition(".")
        target = directory / f"{stem}-{file_id}{dot}{suffix}"
    return target


def save_returned_files(answer: Any, out: TextIO, directory: Path | None = None) -> None:
    """Download the answer's files into ``directory`` (the working directory by default)."""
    file_ids = returned_file_ids(answer)
    if not file_ids:
        return
    directory = directory or Path.cwd()
    client = clients.sync_client(clients.resolve_endpoint(Context()))
    for file_id in file_ids:
        target = _target(directory, client.files.retrieve(file_id).filename, file_id)
        target.write_bytes(client.files.content(file_id).content)
        print(SAVED.format(name=target.name, file_id=file_id), file=out, flush=True)


def mention_returned_files(answer: Any, out: TextIO) -> None:
    """Name the answer's files and how to save them (when it returned any)."""
    file_ids = returned_file_ids(answer)
    if file_ids:
        print(FILES_HINT.format(ids=", ".join(file_ids)), file=out)
