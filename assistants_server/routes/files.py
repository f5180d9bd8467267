"""``/v1/files``: upload (multipart), list, retrieve, download the content, delete.

An upload streams to Starlette's multipart parser, which spools the file to a temporary file
(the body limit middleware bounds it while it arrives, see ``limits``); the store then copies
it into the database in chunks, in one transaction. A download streams the stored chunks one
at a time. Every file belongs to the API key that uploaded it: another key gets 404.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from typing import IO, Annotated, Any, Literal
from urllib.parse import quote

from assistant_graph.assistants_server.errors import bad_request
from assistant_graph.assistants_server.idempotency import key_for, once
from assistant_graph.assistants_server.ids import now
from assistant_graph.assistants_server.limits import file_too_large
from assistant_graph.assistants_server.retrieval import stores
from assistant_graph.assistants_server.routes.common import Owner, context, json_response
from assistant_graph.assistants_server.store import NotFound, files
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import ClientDisconnect

router = APIRouter()

MAX_LIST_LIMIT = 10_000
"""Largest (and default) ``limit`` of a file list, as the spec gives it."""
BATCH_EXPIRY_SECONDS = 30 * 24 * 60 * 60
"""Files with purpose ``batch`` expire after 30 days unless ``expires_after`` says otherwise."""
EXPIRY_SECONDS_RANGE = (3600, 2_592_000)
"""Bounds of ``expires_after[seconds]`` (1 hour to 30 days)."""
HASH_BLOCK_BYTES = 1024 * 1024

MISSING_FILE_PART_MESSAGE = (
    "Missing required parameter: 'file'. Send the file as a multipart/form-data part named "
    "'file', with a filename (the SDK: client.files.create(file=open(path, 'rb'), "
    "purpose='assistants'))."
)
NOT_A_FILE_PART_MESSAGE = (
    "Invalid value for 'file': it was sent as a text field. Send the file's bytes as a "
    "multipart/form-data part with a filename."
)
UPLOAD_INTERRUPTED_MESSAGE = (
    "The connection closed before the upload was complete; nothing was stored. Upload the "
    "file again."
)
MISSING_PURPOSE_MESSAGE = "Missing required parameter: 'purpose'. Use one of: {choices}."
UNKNOWN_PURPOSE_MESSAGE = files.UNKNOWN_PURPOSE_MESSAGE
BAD_ANCHOR_MESSAGE = "Invalid value for 'expires_after.anchor': use 'created_at'."
BAD_EXPIRY_SECONDS_MESSAGE = (
    "Invalid value for 'expires_after.seconds': give a whole number of seconds from "
    "{low} (1 hour) to {high} (30 days)."
)
EXPIRY_PAIR_MESSAGE = (
    "'expires_after' needs both 'expires_after[anchor]' and 'expires_after[seconds]'."
)


def _text_field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(f"Invalid value for '{name}': send it as a text field.", param=name)
    return value.strip()


def _upload_part(form: FormData) -> UploadFile:
    part = form.get("file")
    if part is None:
        raise bad_request(MISSING_FILE_PART_MESSAGE, param="file")
    if isinstance(part, str):
        raise bad_request(NOT_A_FILE_PART_MESSAGE, param="file")
    return part


def _purpose(form: FormData) -> str:
    purpose = _text_field(form, "purpose")
    choices = ", ".join(files.UPLOAD_PURPOSES)
    if not purpose:
        raise bad_request(MISSING_PURPOSE_MESSAGE.format(choices=choices), param="purpose")
    if purpose not in files.UPLOAD_PURPOSES:
        raise bad_request(
            UNKNOWN_PURPOSE_MESSAGE.format(purpose=purpose, choices=choices), param="purpose"
        )
    return purpose


def _expires_at(form: FormData, purpose: str) -> int | None:
    """Return the file's expiry time from ``expires_after[...]`` (batch files: 30 days)."""
    anchor = _text_field(form, "expires_after[anchor]")
    seconds_text = _text_field(form, "expires_after[seconds]")
    if anchor is None and seconds_text is None:
        return now() + BATCH_EXPIRY_SECONDS if purpose == "batch" else None
    if anchor is None or seconds_text is None:
        raise bad_request(EXPIRY_PAIR_MESSAGE, param="expires_after")
    if anchor != "created_at":
        raise bad_request(BAD_ANCHOR_MESSAGE, param="expires_after.anchor")
    low, high = EXPIRY_SECONDS_RANGE
    if not seconds_text.isdigit() or not low <= int(seconds_text) <= high:
        raise bad_request(
            BAD_EXPIRY_SECONDS_MESSAGE.format(low=low, high=high), param="expires_after.seconds"
        )
    return now() + int(seconds_text)


def _filename(upload: UploadFile) -> str:
    """Return the part's file name without directories (``a/b.csv``: ``b.csv``), or ``file``."""
    name = PurePosixPath((upload.filename or "").replace("\\", "/")).name.strip()
    return name or "file"


def _form_digest(fields: list[str], data: IO[bytes]) -> bytes:
    """Return a fingerprint of an upload's fields and file bytes (for its ``Idempotency-Key``)."""
    digest = hashlib.sha256()
    for field in fields:
        digest.update(field.encode() + b"\0")
    data.seek(0)
    while block := data.read(HASH_BLOCK_BYTES):
        digest.update(block)
    data.seek(0)
    return digest.digest()


@router.post("/files")
async def upload_file(request: Request, owner: Owner) -> Response:
    """Upload a file (``file`` part and ``purpose``; optional ``expires_after``)."""
    ctx = context(request)
    limit = ctx.settings.max_file_bytes
    try:
        form = await request.form(max_files=1, max_fields=8)
    except ClientDisconnect:
        raise bad_request(UPLOAD_INTERRUPTED_MESSAGE, param="file") from None
    try:
        upload = _upload_part(form)
        purpose = _purpose(form)
        expires_at = _expires_at(form, purpose)
        filename = _filename(upload)
        size = upload.size or 0
        if size > limit:
            raise file_too_large(size, limit)
        if size == 0:
            raise bad_request(files.EMPTY_FILE_MESSAGE.format(filename=filename), param="file")
        expiry = [form.get(f"expires_after[{part}]") or "" for part in ("anchor", "seconds")]
        fields = [purpose, filename, *map(str, expiry)]

        async def fingerprint() -> bytes:
            return await run_in_threadpool(_form_digest, fields, upload.file)

        key = await key_for(request, fingerprint)
        await upload.seek(0)
        return await once(
            ctx,
            key,
            lambda: ctx.store.write(
                files.create_file,
                owner,
                filename=filename,
                purpose=purpose,
                data=upload.file,
                expires_at=expires_at,
            ),
        )
    finally:
        await form.close()


@router.get("/files")
async def list_files(
    request: Request,
    owner: Owner,
    purpose: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = MAX_LIST_LIMIT,
    order: Literal["asc", "desc"] = "desc",
    after: str | None = None,
) -> JSONResponse:
    """List the caller's files, newest first by default (only ``purpose``'s, if given)."""
    if purpose is not None and purpose not in files.FILE_PURPOSES:
        choices = ", ".join(files.FILE_PURPOSES)
        raise bad_request(
            UNKNOWN_PURPOSE_MESSAGE.format(purpose=purpose, choices=choices), param="purpose"
        )
    page = await context(request).store.read(
        files.list_files, owner, purpose=purpose, limit=limit, order=order, after=after
    )
    return json_response(page.body())


@router.get("/files/{file_id}")
async def retrieve_file(file_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Retrieve a file's object."""
    return json_response(await context(request).store.read(files.get_file, owner, file_id))


@router.get("/files/{file_id}/content")
async def download_file(file_id: str, request: Request, owner: Owner) -> StreamingResponse:
    """Stream a file's bytes, one stored chunk at a time."""
    store = context(request).store
    found: dict[str, Any] = await store.read(files.get_file, owner, file_id)

    async def chunks() -> Any:
        position = 0
        while True:
            try:
                chunk = await store.read(files.read_file_chunk, owner, file_id, position)
            except NotFound:  # deleted while being downloaded: the response ends short
                return
            if chunk is None:
                return
            yield chunk
            position += 1

    disposition = f"attachment; filename*=UTF-8''{quote(found['filename'], safe='')}"
    return StreamingResponse(
        chunks(),
        media_type="application/octet-stream",
        headers={
            "content-length": str(found["bytes"]),
            "content-disposition": disposition,
            "x-content-type-options": "nosniff",
        },
    )


@router.delete("/files/{file_id}")
async def delete_file(file_id: str, request: Request, owner: Owner) -> JSONResponse:
    """Delete a file and its bytes, and detach it from every vector store (chunks, vectors)."""
    ctx = context(request)
    deleted, chunk_ids = await ctx.store.write(stores.delete_file_everywhere, owner, file_id)
    await ctx.retrieval.forget_vectors(chunk_ids)
    return json_response(deleted)
