"""Files an answer returned (images, files the server's code wrote) or cited, for the CLI.

The files an answer cites (``file_citation`` annotations, from ``file_search``) are listed
under it, one line each: ``[1] refunds.md (file-…)``, numbered in the order they are cited.

Without ``--save-files`` the CLI only names them; with it, each is downloaded through the
Files API (``client.files.content``) into the working directory under its own file name, never
over an existing file (the id is added to the name instead).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from assistant_graph.graph import clients
from assistant_graph.graph.context import Context

CITATIONS_HEADER = "sources:"
CITATION_LINE = "  [{number}] {name} ({file_id})"
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


def cited_files(answer: Any) -> list[tuple[str, str]]:
    """Return ``(file_id, file name or id)`` of each file the answer cites, once, in order."""
    cited: dict[str, str] = {}
    for annotation in answer.additional_kwargs.get("annotations") or []:
        if annotation.get("type") != "file_citation":
            continue
        citation = annotation.get("file_citation") or {}
        file_id = citation.get("file_id")
        if file_id and file_id not in cited:
            cited[file_id] = citation.get("file_name") or file_id
    return list(cited.items())


def mention_citations(answer: Any, out: TextIO) -> None:
    """List the files the answer cites under it (when it cites any)."""
    cited = cited_files(answer)
    if not cited:
        return
    print(CITATIONS_HEADER, file=out)
    for number, (file_id, name) in enumerate(cited, start=1):
        print(CITATION_LINE.format(number=number, name=name, file_id=file_id), file=out)
    out.flush()
