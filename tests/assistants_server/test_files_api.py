"""The Files API through the real ``openai`` SDK over HTTP: upload, list, retrieve, download,
delete; bad uploads; size limits; per-key ownership; persistence. The file ids that other
objects name: ``test_file_references.py``."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from assistant_graph.assistants_server.embedded import EmbeddedServer
from openapi_contract import Contract
from server_helpers import make_client, stored_rows


@pytest.fixture
def database_url(sqlite_and_postgres_url: str) -> str:
    """These tests run on SQLite and on PostgreSQL."""
    return sqlite_and_postgres_url


FORM_FIELD = b'Content-Disposition: form-data; name="purpose"'
FILE_PART = b'Content-Disposition: form-data; name="file"; filename="x.bin"'
"""Headers of a hand-written multipart upload's two parts (boundary ``b0undary``)."""


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)


def _error(info: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = info.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}, body
    return body


def _file_rows(database_url: str) -> tuple[int, int]:
    counts = stored_rows(database_url)
    return counts["files"], counts["file_chunks"]


# -- round trip ---------------------------------------------------------------------------


def test_upload_list_retrieve_download_delete_round_trip(
    client: openai.OpenAI, contract: Contract, database_url: str
) -> None:
    """Every operation answers with the spec's shapes; the bytes come back as uploaded; a
    deleted file is gone from every operation and from the database (row and bytes)."""
    data = b"x,y\n1,2\n3,4\n"
    created = client.files.create(file=("points.csv", data), purpose="assistants")
    contract.check("OpenAIFile", _dump(created))
    assert created.id.startswith("file-")
    assert (created.filename, created.bytes, created.purpose) == (
        "points.csv",
        len(data),
        "assistants",
    )
    assert created.status == "processed" and created.expires_at is None

    retrieved = client.files.retrieve(created.id)
    contract.check("OpenAIFile", _dump(retrieved))
    assert retrieved == created

    listed = client.files.with_raw_response.list()
    contract.check("ListFilesResponse", listed.http_response.json())
    assert [f.id for f in listed.parse().data] == [created.id]

    content = client.files.content(created.id)
    assert content.content == data
    assert content.response.headers["content-type"] == "application/octet-stream"
    assert content.response.headers["content-length"] == str(len(data))

    deleted = client.files.delete(created.id)
    contract.check("DeleteFileResponse", _dump(deleted))
    assert (deleted.id, deleted.deleted) == (created.id, True)
    for gone in (client.files.retrieve, client.files.content, client.files.delete):
        with pytest.raises(openai.NotFoundError) as info:
            gone(created.id)
        contract.check("ErrorResponse", {"error": _error(info)})
        assert created.id in _error(info)["message"]
    assert client.files.list().data == []
    assert _file_rows(database_url) == (0, 0)


def test_a_file_of_several_chunks_downloads_byte_for_byte(
    client: openai.OpenAI, database_url: str, tmp_path: Path
) -> None:
    """A 3.5 MB file (several stored chunks) uploaded from disk downloads identical."""
    data = os.urandom(3 * 1024 * 1024 + 512 * 1024)
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    with path.open("rb") as handle:
        created = client.files.create(file=handle, purpose="user_data")
    assert (created.filename, created.bytes) == ("blob.bin", len(data))
    assert _file_rows(database_url) == (1, 4)
    assert client.files.content(created.id).content == data


def test_list_filters_by_purpose_orders_and_pages(
    client: openai.OpenAI, contract: Contract
) -> None:
    """``purpose`` selects, ``order`` sorts by creation, ``limit``/``after`` page (the SDK's
    auto-pagination walks every page); an unknown purpose is a clear 400."""
    ids = [
        client.files.create(file=(f"f{i}.txt", b"%d" % i), purpose=purpose).id
        for i, purpose in enumerate(
            ["assistants", "vision", "assistants", "user_data", "assistants"]
        )
    ]
    assistants_files = client.files.list(purpose="assistants")
    assert [f.id for f in assistants_files.data] == [ids[4], ids[2], ids[0]]
    raw = client.files.with_raw_response.list(limit=2, order="asc")
    contract.check("ListFilesResponse", raw.http_response.json())
    first = raw.parse()
    assert [f.id for f in first.data] == ids[:2] and first.has_more
    assert [f.id for f in client.files.list(limit=2, order="asc", after=ids[1]).data] == ids[2:4]
    assert [f.id for f in client.files.list(limit=2, order="asc")] == ids
    with pytest.raises(openai.BadRequestError) as info:
        client.files.list(purpose="pictures")
    assert _error(info)["param"] == "purpose" and "assistants" in _error(info)["message"]


def test_expires_after_sets_expires_at(client: openai.OpenAI, contract: Contract) -> None:
    """``expires_after`` (and a batch file's 30-day default) gives the file an ``expires_at``;
    a bad expiry policy is refused."""
    timed = client.files.create(
        file=("a.jsonl", b"{}\n"),
        purpose="assistants",
        expires_after={"anchor": "created_at", "seconds": 3600},
    )
    contract.check("OpenAIFile", _dump(timed))
    assert timed.expires_at == timed.created_at + 3600
    batch = client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    assert batch.expires_at == batch.created_at + 30 * 24 * 3600
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(
            file=("c.jsonl", b"{}\n"),
            purpose="assistants",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert _error(info)["param"] == "expires_after.seconds"


# -- bad uploads --------------------------------------------------------------------------


def test_an_empty_file_is_refused(client: openai.OpenAI, database_url: str) -> None:
    """An empty file gets 400 naming the file; nothing is stored."""
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("empty.txt", b""), purpose="assistants")
    assert _error(info)["param"] == "file"
    assert "'empty.txt' is empty" in _error(info)["message"]
    assert _file_rows(database_url) == (0, 0)


def test_an_unknown_purpose_is_refused(client: openai.OpenAI, database_url: str) -> None:
    """An unknown purpose gets 400 listing the accepted ones; nothing is stored."""
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("a.txt", b"a"), purpose="pictures")  # type: ignore[arg-type]
    error = _error(info)
    assert error["param"] == "purpose"
    assert "'pictures'" in error["message"] and "assistants, batch" in error["message"]
    assert _file_rows(database_url) == (0, 0)


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        ({"purpose": (None, "assistants")}, "Missing required parameter: 'file'"),
        ({"purpose": (None, "assistants"), "file": (None, "text")}, "sent as a text field"),
        ({"file": ("a.txt", b"a")}, "Missing required parameter: 'purpose'"),
    ],
    ids=["no file part", "file as text", "no purpose"],
)
def test_a_malformed_upload_is_refused(
    server: EmbeddedServer, database_url: str, parts: dict[str, Any], fragment: str
) -> None:
    """A form without a ``file`` part, with ``file`` as text, or without ``purpose`` gets 400
    in OpenAI's error shape; nothing is stored."""
    response = httpx.post(server.base_url + "/files", files=parts)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and fragment in error["message"]
    assert _file_rows(database_url) == (0, 0)


@pytest.fixture
def small_files(start_server: Callable[..., EmbeddedServer], backend: Any) -> EmbeddedServer:
    """A server accepting files of at most 1000 bytes."""
    return start_server(backend=backend, max_file_bytes=1000)


def test_a_file_over_the_configured_limit_gets_413(
    small_files: EmbeddedServer, database_url: str
) -> None:
    """At the limit a file is stored; one byte more, or far more (refused by its length
    before it is read), gets 413 naming the setting; nothing is stored."""
    client = make_client(small_files)
    assert client.files.create(file=("ok.txt", b"a" * 1000), purpose="assistants").bytes == 1000
    for size in (1001, 5 * 1024 * 1024):
        with pytest.raises(openai.APIStatusError) as info:
            client.files.create(file=("big.txt", b"a" * size), purpose="assistants")
        assert info.value.status_code == 413
        assert "ASSISTANTS_SERVER_MAX_FILE_BYTES" in _error(info)["message"]
        assert _error(info)["code"] == "file_too_large"
    assert _file_rows(database_url) == (1, 1)


def test_an_upload_without_length_is_cut_off_at_the_limit(
    small_files: EmbeddedServer, database_url: str
) -> None:
    """A chunked upload (no Content-Length) is counted as it arrives and gets 413 once it
    carries more than the limit allows; the server keeps serving."""

    def body() -> Iterator[bytes]:
        yield b"--b0undary\r\n" + FORM_FIELD + b"\r\n\r\nassistants\r\n"
        yield b"--b0undary\r\n" + FILE_PART + b"\r\nContent-Type: application/octet-stream\r\n\r\n"
        for _ in range(40):
            yield b"z" * 4096
        yield b"\r\n--b0undary--\r\n"

    response = httpx.post(
        small_files.base_url + "/files",
        content=body(),
        headers={"content-type": "multipart/form-data; boundary=b0undary"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "file_too_large"
    assert _file_rows(database_url) == (0, 0)
    client = make_client(small_files)
    assert client.files.create(file=("ok.txt", b"ok"), purpose="assistants").bytes == 2


def test_an_interrupted_upload_stores_nothing(
    server: EmbeddedServer, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that gives up half-way through an upload leaves no row and no bytes, and the
    server logs no error for it (a client going away is not the server's fault)."""

    def body() -> Iterator[bytes]:
        yield b"--b0undary\r\n" + FORM_FIELD + b"\r\n\r\nassistants\r\n"
        yield b"--b0undary\r\n" + FILE_PART + b"\r\n\r\n"
        for _ in range(40):
            yield b"z" * 65536
        raise ConnectionAbortedError("the client gave up")

    with pytest.raises(ConnectionAbortedError):
        httpx.post(
            server.base_url + "/files",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=b0undary"},
        )
    client = make_client(server)
    assert client.files.list().data == []
    assert _file_rows(database_url) == (0, 0)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_an_upload_is_not_held_in_memory_whole(client: openai.OpenAI, tmp_path: Path) -> None:
    """Uploading and downloading a 24 MB file never holds it whole in the server's memory:
    the Python allocations peak far below the file's size (server and client share this
    process, so the peak counts both)."""
    size = 24 * 1024 * 1024
    path = tmp_path / "big.bin"
    with path.open("wb") as handle:
        for _ in range(size // (1024 * 1024)):
            handle.write(os.urandom(1024 * 1024))
    tracemalloc.start()
    try:
        with path.open("rb") as handle:
            created = client.files.create(file=handle, purpose="assistants")
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        received = 0
        with client.files.with_streaming_response.content(created.id) as response:
            for chunk in response.iter_bytes():
                received += len(chunk)
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert created.bytes == size and received == size
    assert upload_peak < size / 3, upload_peak
    assert download_peak < size / 3, download_peak


# -- idempotency, ownership, persistence ----------------------------------------------------


def test_an_upload_with_an_idempotency_key_is_stored_once(
    client: openai.OpenAI, database_url: str
) -> None:
    """A repeated upload with the same key and bytes replays the first file; the same key
    with other bytes is refused."""
    key = {"Idempotency-Key": "upload-1"}
    first = client.files.create(file=("a.txt", b"abc"), purpose="assistants", extra_headers=key)
    again = client.files.with_raw_response.create(
        file=("a.txt", b"abc"), purpose="assistants", extra_headers=key
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.parse().id == first.id
    with pytest.raises(openai.BadRequestError) as info:
        client.files.create(file=("a.txt", b"abd"), purpose="assistants", extra_headers=key)
    assert _error(info)["code"] == "idempotency_key_reused"
    assert _file_rows(database_url) == (1, 1)


def test_another_api_key_cannot_see_or_use_a_file(
    start_server: Callable[..., EmbeddedServer], backend: Any
) -> None:
    """A file of one key is not found by another: not listed, retrieved, downloaded, deleted,
    nor usable as an attachment."""
    server = start_server(backend=backend, api_keys=("key-one", "key-two"))
    owner, other = make_client(server, "key-one"), make_client(server, "key-two")
    created = owner.files.create(file=("secret.txt", b"secret"), purpose="assistants")
    assert other.files.list().data == []
    for operation in (other.files.retrieve, other.files.content, other.files.delete):
        with pytest.raises(openai.NotFoundError):
            operation(created.id)
    thread = other.beta.threads.create()
    with pytest.raises(openai.BadRequestError) as info:
        other.beta.threads.messages.create(
            thread.id,
            role="user",
            content="read it",
            attachments=[{"file_id": created.id, "tools": [{"type": "code_interpreter"}]}],
        )
    assert created.id in _error(info)["message"]
    assert owner.files.content(created.id).content == b"secret"


def test_a_file_survives_a_restart(
    start_server: Callable[..., EmbeddedServer], backend: Any
) -> None:
    """A file uploaded before the server stops is there, with its bytes, after it starts again
    on the same database."""
    first = start_server(backend=backend)
    created = make_client(first).files.create(file=("keep.txt", b"kept"), purpose="assistants")
    first.stop()
    second = start_server(backend=backend)
    client = make_client(second)
    assert client.files.retrieve(created.id) == created
    assert client.files.content(created.id).content == b"kept"
