"""Files: plain functions over one connection (one transaction), each found only by its owner.

A file is a metadata row in ``files`` and its bytes, in order, in ``file_chunks`` rows of at
most :data:`CHUNK_BYTES`: listing and retrieving never load the bytes, a download reads one
chunk at a time, and :func:`create_file` writes row and chunks in the caller's one transaction
(a failure leaves nothing). :func:`delete_file` deletes both. ``owner`` is the fingerprint of
the caller's API key, as for assistants and threads: another key's file is not found.

:func:`check_references` is what assistants, threads and messages call before they store
file ids (``attachments``, ``image_file`` content, ``tool_resources``): every id must name a
live file of the same owner, an ``image_file`` an image.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any

from assistant_graph.assistants_server import db
from assistant_graph.assistants_server.ids import new_id, now
from assistant_graph.assistants_server.store import rows
from assistant_graph.assistants_server.store.errors import InvalidRequest, NotFound
from assistant_graph.assistants_server.store.queries import list_page
from sqlalchemy import ColumnElement, Connection, delete, insert, or_, select

CHUNK_BYTES = 1024 * 1024
"""Bytes per ``file_chunks`` row: a download holds one chunk in memory at a time."""

FILE_PURPOSES = (
    "assistants",
    "assistants_output",
    "batch",
    "batch_output",
    "fine-tune",
    "fine-tune-results",
    "vision",
    "user_data",
    "evals",
)
"""Every purpose a stored file can have (uploads take :data:`UPLOAD_PURPOSES`)."""

UPLOAD_PURPOSES = ("assistants", "batch", "fine-tune", "vision", "user_data", "evals")
"""Purposes a client may upload with (the spec's ``CreateFileRequest``)."""

IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
"""Leading bytes of the image formats ``image_file`` content accepts (WebP: see below)."""

DEFAULT_MEDIA_TYPE = "application/octet-stream"

EMPTY_FILE_MESSAGE = "The file '{filename}' is empty (0 bytes). Upload a file with content."
UNKNOWN_PURPOSE_MESSAGE = "Invalid value for 'purpose': '{purpose}'. Use one of: {choices}."
MISSING_REFERENCE_MESSAGE = (
    "No file found with id '{id}' (at '{param}'). Upload it first with POST /v1/files, using "
    "the same API key: files are visible only to the key that uploaded them."
)
NOT_AN_IMAGE_MESSAGE = (
    "File '{id}' ('{filename}') at '{param}' is not an image: image_file content must name a "
    "PNG, JPEG, GIF or WebP file. Attach other files with 'attachments' instead."
)
BAD_FILE_IDS_MESSAGE = "Invalid value for '{param}': expected a list of file ids (strings)."

_FILES = db.files
_CHUNKS = db.file_chunks


def media_type_of(filename: str, head: bytes) -> str:
    """Return the media type: an image format recognised by its first bytes, else by its name."""
    for signature, media_type in IMAGE_SIGNATURES:
        if head.startswith(signature):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    guessed, _encoding = mimetypes.guess_type(filename)
    if guessed is not None and guessed.startswith("image/"):
        return DEFAULT_MEDIA_TYPE  # named like an image but its bytes are not one
    return guessed or DEFAULT_MEDIA_TYPE


def is_image(media_type: str) -> bool:
    """Whether a stored file's media type is one ``image_file`` content accepts."""
    return media_type.startswith("image/")


def _live() -> ColumnElement[bool]:
    """Files not past their ``expires_at``."""
    return or_(_FILES.c.expires_at.is_(None), _FILES.c.expires_at > now())


def _owned_row(conn: Connection, owner: str, file_id: str) -> Any:
    row = conn.execute(
        select(_FILES).where(_FILES.c.id == file_id, _FILES.c.api_key_hash == owner, _live())
    ).first()
    if row is None:
        raise NotFound("file", file_id, "file_id")
    return row


def _chunks(data: bytes | IO[bytes]) -> Iterator[bytes]:
    """Yield ``data`` in pieces of at most :data:`CHUNK_BYTES` (a file object as it is read)."""
    if isinstance(data, bytes | bytearray | memoryview):
        view = memoryview(data)
        for start in range(0, len(view), CHUNK_BYTES):
            yield bytes(view[start : start + CHUNK_BYTES])
        return
    while chunk := data.read(CHUNK_BYTES):
        yield chunk


def purge_expired(conn: Connection) -> int:
    """Delete every file past its ``expires_at`` with its bytes; return how many."""
    expired = [
        row.id
        for row in conn.execute(
            select(_FILES.c.id).where(
                _FILES.c.expires_at.is_not(None), _FILES.c.expires_at <= now()
            )
        )
    ]
    for file_id in expired:
        _delete(conn, file_id)
    return len(expired)


def create_file(
    conn: Connection,
    owner: str,
    *,
    filename: str,
    purpose: str,
    data: bytes | IO[bytes],
    expires_at: int | None = None,
) -> dict[str, Any]:
    """Store a file (bytes, or a binary file object read to its end); return its object.

    :class:`InvalidRequest` for an empty file or an unknown purpose (nothing is stored).
    """
    if purpose not in FILE_PURPOSES:
        raise InvalidRequest(
            UNKNOWN_PURPOSE_MESSAGE.format(purpose=purpose, choices=", ".join(FILE_PURPOSES)),
            param="purpose",
        )
    purge_expired(conn)
    file_id = new_id("file", "-")
    size = 0
    head = b""
    for position, chunk in enumerate(_chunks(data)):
        if position == 0:
            head = chunk[:16]
        conn.execute(insert(_CHUNKS).values(file_id=file_id, position=position, data=chunk))
        size += len(chunk)
    if size == 0:
        raise InvalidRequest(EMPTY_FILE_MESSAGE.format(filename=filename), param="file")
    conn.execute(
        insert(_FILES).values(
            id=file_id,
            api_key_hash=owner,
            purpose=purpose,
            filename=filename,
            bytes=size,
            media_type=media_type_of(filename, head),
            created_at=now(),
            expires_at=expires_at,
        )
    )
    return rows.file(_owned_row(conn, owner, file_id))


def get_file(conn: Connection, owner: str, file_id: str) -> dict[str, Any]:
    """Return one file's object (:class:`NotFound` if the owner has no such live file)."""
    return rows.file(_owned_row(conn, owner, file_id))


def file_media_type(conn: Connection, owner: str, file_id: str) -> str:
    """Return the media type recognised for a file (``image/png``, ``text/csv``, ...)."""
    return str(_owned_row(conn, owner, file_id).media_type)


def read_file_chunk(conn: Connection, owner: str, file_id: str, position: int) -> bytes | None:
    """Return the file's chunk at ``position`` (0, 1, ...); None past its last chunk.

    :class:`NotFound` if the owner has no such live file (e.g. it was deleted meanwhile).
    """
    _owned_row(conn, owner, file_id)
    chunk = conn.execute(
        select(_CHUNKS.c.data).where(_CHUNKS.c.file_id == file_id, _CHUNKS.c.position == position)
    ).scalar()
    return None if chunk is None else bytes(chunk)


def read_file_content(conn: Connection, owner: str, file_id: str) -> bytes:
    """Return the whole file's bytes (for the server's own use; downloads go by chunk)."""
    _owned_row(conn, owner, file_id)
    found = conn.execute(
        select(_CHUNKS.c.data).where(_CHUNKS.c.file_id == file_id).order_by(_CHUNKS.c.position)
    )
    return b"".join(bytes(chunk) for (chunk,) in found)


def list_files(
    conn: Connection,
    owner: str,
    *,
    purpose: str | None = None,
    limit: int,
    order: str,
    after: str | None,
    before: str | None = None,
) -> rows.Page:
    """Return a page of the owner's live files (only those with ``purpose``, if given)."""
    conditions = [_FILES.c.api_key_hash == owner, _live()]
    if purpose is not None:
        conditions.append(_FILES.c.purpose == purpose)
    return list_page(conn, _FILES, conditions, limit=limit, order=order, after=after, before=before)


def _delete(conn: Connection, file_id: str) -> None:
    conn.execute(delete(_CHUNKS).where(_CHUNKS.c.file_id == file_id))
    conn.execute(delete(_FILES).where(_FILES.c.id == file_id))


def delete_file(conn: Connection, owner: str, file_id: str) -> dict[str, Any]:
    """Delete a file and its bytes; return the spec's delete object."""
    _owned_row(conn, owner, file_id)
    _delete(conn, file_id)
    return {"id": file_id, "object": "file", "deleted": True}


# -- references from other objects --------------------------------------------------------


def check_files_exist(
    conn: Connection,
    owner: str,
    file_ids: Sequence[str],
    params: Sequence[str] | None = None,
    *,
    images: bool = False,
) -> None:
    """Raise :class:`InvalidRequest` naming the first id that is not a live file of ``owner``.

    ``params`` names where each id was given (default ``file_ids[i]``); with ``images``, each
    file must also be an image.
    """
    names = list(params) if params is not None else [f"file_ids[{i}]" for i in range(len(file_ids))]
    if not file_ids:
        return
    found = {
        row.id: row
        for row in conn.execute(
            select(_FILES.c.id, _FILES.c.filename, _FILES.c.media_type).where(
                _FILES.c.id.in_(set(file_ids)), _FILES.c.api_key_hash == owner, _live()
            )
        )
    }
    for file_id, param in zip(file_ids, names, strict=True):
        row = found.get(file_id)
        if row is None:
            raise InvalidRequest(
                MISSING_REFERENCE_MESSAGE.format(id=file_id, param=param), param=param
            )
        if images and not is_image(row.media_type):
            raise InvalidRequest(
                NOT_AN_IMAGE_MESSAGE.format(id=file_id, filename=row.filename, param=param),
                param=param,
            )


def _id_list(value: Any, param: str) -> list[tuple[str, str]]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidRequest(BAD_FILE_IDS_MESSAGE.format(param=param), param=param)
    return [(f"{param}[{index}]", file_id) for index, file_id in enumerate(value)]


def tool_resource_files(
    tool_resources: Any, param: str = "tool_resources"
) -> list[tuple[str, str]]:
    """Return (param, file id) of every file ``tool_resources`` names.

    ``code_interpreter.file_ids`` and the ``file_ids`` of ``file_search.vector_stores`` helpers.
    """
    if not isinstance(tool_resources, Mapping):
        return []
    named: list[tuple[str, str]] = []
    interpreter = tool_resources.get("code_interpreter")
    if isinstance(interpreter, Mapping) and interpreter.get("file_ids") is not None:
        where = f"{param}.code_interpreter.file_ids"
        named += _id_list(interpreter["file_ids"], where)
    search = tool_resources.get("file_search")
    stores = search.get("vector_stores") if isinstance(search, Mapping) else None
    if isinstance(stores, list):
        for index, store in enumerate(stores):
            if isinstance(store, Mapping) and store.get("file_ids") is not None:
                where = f"{param}.file_search.vector_stores[{index}].file_ids"
                named += _id_list(store["file_ids"], where)
    return named


def message_files(
    message: Mapping[str, Any], param: str = ""
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Return (param, file id) of a message's attachments, and of its ``image_file`` parts.

    ``message`` has the store's message fields (``attachments``, ``content`` blocks).
    """
    prefix = f"{param}." if param else ""
    attached = [
        (f"{prefix}attachments[{index}].file_id", attachment["file_id"])
        for index, attachment in enumerate(message.get("attachments") or [])
    ]
    images = [
        (f"{prefix}content[{index}].image_file.file_id", block["image_file"]["file_id"])
        for index, block in enumerate(message.get("content") or [])
        if isinstance(block, Mapping) and block.get("type") == "image_file"
    ]
    return attached, images


def check_references(
    conn: Connection,
    owner: str,
    *,
    tool_resources: Any = None,
    resources_param: str = "tool_resources",
    messages: Iterable[Mapping[str, Any]] = (),
    messages_param: str | None = None,
) -> None:
    """Check every file id of ``tool_resources`` and ``messages`` (:func:`check_files_exist`).

    ``messages_param`` names the list the messages came in (``messages``,
    ``additional_messages``); None for one message given by itself.
    """
    named = tool_resource_files(tool_resources, resources_param)
    images: list[tuple[str, str]] = []
    for index, message in enumerate(messages):
        where = "" if messages_param is None else f"{messages_param}[{index}]"
        attached, shown = message_files(message, where)
        named += attached
        images += shown
    for group, as_images in ((named, False), (images, True)):
        if group:
            params, ids = zip(*group, strict=True)
            check_files_exist(conn, owner, ids, params, images=as_images)
