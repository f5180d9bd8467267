"""``/v1/vector_stores``: vector stores, their files and file batches, and search.

Adding files only queues them (status ``in_progress``); the server's ingestion worker indexes
them in the background (``retrieval.ingestion``). Deleting chunks also deletes their vectors,
after the transaction that removed the chunks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from assistant_graph.assistants_server.errors import APIError
from assistant_graph.assistants_server.idempotency import Key, once
from assistant_graph.assistants_server.retrieval import (
    RetrievalInputError,
    resolve_strategy,
    stores,
)
from assistant_graph.assistants_server.routes.common import (
    ListParams,
    Owner,
    context,
    json_response,
    list_params,
)
from assistant_graph.assistants_server.schemas import check_metadata
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

router = APIRouter()

MAX_ATTRIBUTES = 16
BAD_ATTRIBUTES = (
    "attributes: at most 16 keys of up to 64 characters; values are strings of up to 512 "
    "characters, numbers or booleans."
)
FileStatus = Literal["in_progress", "completed", "failed", "cancelled"]


def check_attributes(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Validate a file's ``attributes`` (the spec's limits)."""
    if value is None:
        return None
    if len(value) > MAX_ATTRIBUTES or any(
        len(key) > 64
        or not isinstance(item, str | int | float | bool)
        or (isinstance(item, str) and len(item) > 512)
        for key, item in value.items()
    ):
        raise ValueError(BAD_ATTRIBUTES)
    return value


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExpiresAfter(_Body):
    """``expires_after``: days after the store was last active."""

    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class CreateVectorStore(_Body):
    """Body of ``POST /vector_stores``."""

    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    expires_after: ExpiresAfter | None = None
    chunking_strategy: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_metadata(value)


class ModifyVectorStore(_Body):
    """Body of ``POST /vector_stores/{id}``."""

    name: str | None = Field(default=None, max_length=256)
    expires_after: ExpiresAfter | None = None
    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_metadata(value)


class _WithAttributes(_Body):
    attributes: dict[str, Any] | None = None

    @field_validator("attributes")
    @classmethod
    def _attributes(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_attributes(value)


class CreateVectorStoreFile(_WithAttributes):
    """Body of ``POST /vector_stores/{id}/files``."""

    file_id: str
    chunking_strategy: dict[str, Any] | None = None


class UpdateVectorStoreFile(_WithAttributes):
    """Body of ``POST /vector_stores/{id}/files/{file_id}``."""


class BatchFile(CreateVectorStoreFile):
    """One entry of a batch's ``files``."""


class CreateFileBatch(_WithAttributes):
    """Body of ``POST /vector_stores/{id}/file_batches``."""

    file_ids: list[str] | None = Field(default=None, min_length=1, max_length=500)
    files: list[BatchFile] | None = Field(default=None, min_length=1, max_length=500)
    chunking_strategy: dict[str, Any] | None = None


class RankingOptions(_Body):
    """``ranking_options`` of a search."""

    ranker: Literal["none", "auto", "default-2024-11-15"] = "auto"
    score_threshold: float = Field(default=0.0, ge=0, le=1)


class SearchRequest(_Body):
    """Body of ``POST /vector_stores/{id}/search``."""

    query: str | list[str]
    rewrite_query: bool = False
    max_num_results: int = Field(default=10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: RankingOptions | None = None


def _strategy(value: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return resolve_strategy(value)
    except RetrievalInputError as exc:
        raise APIError(400, str(exc), param=exc.param) from None


async def _forget_vectors(request: Request, chunk_ids: list[int]) -> None:
    await context(request).retrieval.forget_vectors(chunk_ids)


# -- vector stores ------------------------------------------------------------------------


@router.post("/vector_stores")
async def create_vector_store(
    body: CreateVectorStore, request: Request, owner: Owner, key: Key
) -> Response:
    """Create a vector store, queuing its ``file_ids`` for indexing."""
    ctx = context(request)
    strategy = _strategy(body.chunking_strategy)
    data = {
        "name": body.name,
        "description": body.description,
        "metadata": body.metadata or {},
        "expires_after": body.expires_after.model_dump() if body.expires_after else None,
    }

    async def make() -> dict[str, Any]:
        created = await ctx.store.write(
            stores.create_vector_store, owner, data, body.file_ids, strategy
        )
        ctx.ingestion.wake()
        return created

    return await once(ctx, key, make)


@router.get("/vector_stores")
async def list_vector_stores(
    request: Request, owner: Owner, params: Annotated[ListParams, Depends(list_params)]
) -> JSONResponse:
    """List the caller's vector stores."""
    page = await context(request).store.read(stores.list_vector_stores, owner, **params.kwargs())
    return json_response(page.body())


@router.get("/vector_stores/{vector_store_id}")
async def retrieve_vector_store(
    vector_store_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Retrieve a vector store with its file counts."""
    store = context(request).store
    return json_response(await store.read(stores.get_vector_store, owner, vector_store_id))


@router.post("/vector_stores/{vector_store_id}")
async def modify_vector_store(
    vector_store_id: str, body: ModifyVectorStore, request: Request, owner: Owner
) -> JSONResponse:
    """Change a vector store's name, metadata or expiry."""
    changes = body.model_dump(exclude_unset=True)
    if "metadata" in changes:
        changes["metadata"] = body.metadata or {}
    store = context(request).store
    return json_response(
        await store.write(stores.modify_vector_store, owner, vector_store_id, changes)
    )


@router.delete("/vector_stores/{vector_store_id}")
async def delete_vector_store(
    vector_store_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Delete a vector store, its files' chunks and vectors (the files themselves stay)."""
    chunk_ids = await context(request).store.write(
        stores.delete_vector_store, owner, vector_store_id
    )
    await _forget_vectors(request, chunk_ids)
    return json_response(
        {"id": vector_store_id, "object": "vector_store.deleted", "deleted": True}
    )


@router.post("/vector_stores/{vector_store_id}/search")
async def search_vector_store(
    vector_store_id: str, body: SearchRequest, request: Request, owner: Owner
) -> JSONResponse:
    """Search a vector store: results best first, with their chunks' text."""
    ctx = context(request)
    await ctx.store.write(stores.searchable_store, owner, vector_store_id)
    ranking = body.ranking_options or RankingOptions()
    try:
        results = await ctx.retrieval.search(
            [vector_store_id],
            body.query,
            max_num_results=body.max_num_results,
            score_threshold=ranking.score_threshold,
            filters=body.filters,
        )
    except RetrievalInputError as exc:
        raise APIError(400, str(exc), param=exc.param) from None
    queries = [body.query] if isinstance(body.query, str) else body.query
    return json_response(
        {
            "object": "vector_store.search_results.page",
            "search_query": queries,
            "data": [
                {
                    "file_id": result.file_id,
                    "filename": result.filename,
                    "score": result.score,
                    "attributes": result.attributes,
                    "content": [{"type": "text", "text": result.text}],
                }
                for result in results
            ],
            "has_more": False,
            "next_page": None,
        }
    )


# -- files --------------------------------------------------------------------------------


@router.post("/vector_stores/{vector_store_id}/files")
async def create_vector_store_file(
    vector_store_id: str, body: CreateVectorStoreFile, request: Request, owner: Owner
) -> JSONResponse:
    """Attach a file to a vector store; it is indexed in the background."""
    ctx = context(request)
    strategy = _strategy(body.chunking_strategy)
    created = await ctx.store.write(
        stores.add_file, owner, vector_store_id, body.file_id, strategy, body.attributes
    )
    ctx.ingestion.wake()
    return json_response(created)


@router.get("/vector_stores/{vector_store_id}/files")
async def list_vector_store_files(
    vector_store_id: str,
    request: Request,
    owner: Owner,
    params: Annotated[ListParams, Depends(list_params)],
    filter: Annotated[FileStatus | None, Query()] = None,
) -> JSONResponse:
    """List a vector store's files, optionally only those with one status."""
    page = await context(request).store.read(
        stores.list_store_files, owner, vector_store_id, filter, **params.kwargs()
    )
    return json_response(page.body())


@router.get("/vector_stores/{vector_store_id}/files/{file_id}")
async def retrieve_vector_store_file(
    vector_store_id: str, file_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Retrieve a vector store file (its status and ``last_error``)."""
    store = context(request).store
    return json_response(await store.read(stores.get_store_file, owner, vector_store_id, file_id))


@router.post("/vector_stores/{vector_store_id}/files/{file_id}")
async def update_vector_store_file(
    vector_store_id: str, file_id: str, body: UpdateVectorStoreFile, request: Request, owner: Owner
) -> JSONResponse:
    """Replace a vector store file's attributes."""
    store = context(request).store
    return json_response(
        await store.write(
            stores.update_file_attributes, owner, vector_store_id, file_id, body.attributes
        )
    )


@router.delete("/vector_stores/{vector_store_id}/files/{file_id}")
async def delete_vector_store_file(
    vector_store_id: str, file_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Detach a file from a vector store (its chunks go; the file stays)."""
    chunk_ids = await context(request).store.write(
        stores.remove_store_file, owner, vector_store_id, file_id
    )
    await _forget_vectors(request, chunk_ids)
    return json_response({"id": file_id, "object": "vector_store.file.deleted", "deleted": True})


# -- file batches -------------------------------------------------------------------------


@router.post("/vector_stores/{vector_store_id}/file_batches")
async def create_file_batch(
    vector_store_id: str, body: CreateFileBatch, request: Request, owner: Owner, key: Key
) -> Response:
    """Attach several files at once; they are indexed in the background."""
    ctx = context(request)
    if (body.file_ids is None) == (body.files is None):
        raise APIError(400, "Give either file_ids or files (one of them, not both).")
    default = _strategy(body.chunking_strategy)
    entries = (
        [(file_id, default, body.attributes) for file_id in body.file_ids]
        if body.file_ids is not None
        else [
            (
                item.file_id,
                _strategy(item.chunking_strategy) if item.chunking_strategy else default,
                item.attributes if item.attributes is not None else body.attributes,
            )
            for item in body.files or []
        ]
    )

    async def make() -> dict[str, Any]:
        batch = await ctx.store.write(stores.create_batch, owner, vector_store_id, entries)
        ctx.ingestion.wake()
        return batch

    return await once(ctx, key, make)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}")
async def retrieve_file_batch(
    vector_store_id: str, batch_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Retrieve a file batch with its file counts."""
    store = context(request).store
    return json_response(await store.read(stores.get_batch, owner, vector_store_id, batch_id))


@router.post("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel")
async def cancel_file_batch(
    vector_store_id: str, batch_id: str, request: Request, owner: Owner
) -> JSONResponse:
    """Cancel a batch: its files not indexed yet end ``cancelled``."""
    batch, chunk_ids = await context(request).store.write(
        stores.cancel_batch, owner, vector_store_id, batch_id
    )
    await _forget_vectors(request, chunk_ids)
    return json_response(batch)


@router.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files")
async def list_file_batch_files(
    vector_store_id: str,
    batch_id: str,
    request: Request,
    owner: Owner,
    params: Annotated[ListParams, Depends(list_params)],
    filter: Annotated[FileStatus | None, Query()] = None,
) -> JSONResponse:
    """List a batch's files, optionally only those with one status."""
    page = await context(request).store.read(
        stores.list_store_files,
        owner,
        vector_store_id,
        filter,
        batch_id,
        **params.kwargs(),
    )
    return json_response(page.body())
