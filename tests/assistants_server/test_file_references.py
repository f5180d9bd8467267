"""The file ids messages, threads, assistants and runs name must be files of the caller's key
(``image_file`` content: images), through the real ``openai`` SDK over HTTP; a request naming
any other id gets 400 and stores nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openai
import pytest
from server_helpers import stored_rows

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
"""Enough of a PNG for the server to recognise the format by its first bytes."""


def _error(info: pytest.ExceptionInfo[openai.APIStatusError]) -> dict[str, Any]:
    body = info.value.body
    assert isinstance(body, dict) and set(body) == {"message", "type", "param", "code"}, body
    return body


MISSING = "file-doesnotexist000000000000"


def _reference_cases() -> list[tuple[str, Callable[[openai.OpenAI, dict[str, str]], Any], str]]:
    """(name, request naming ``ids["bad"]``, param the error names)."""
    resources = lambda ids: {"code_interpreter": {"file_ids": [ids["csv"], ids["bad"]]}}  # noqa: E731
    attach = lambda ids: [{"file_id": ids["bad"], "tools": [{"type": "code_interpreter"}]}]  # noqa: E731
    image = lambda ids: [{"type": "image_file", "image_file": {"file_id": ids["bad"]}}]  # noqa: E731
    return [
        (
            "message attachment",
            lambda c, ids: c.beta.threads.messages.create(
                ids["thread"], role="user", content="x", attachments=attach(ids)
            ),
            "attachments[0].file_id",
        ),
        (
            "message image_file",
            lambda c, ids: c.beta.threads.messages.create(
                ids["thread"], role="user", content=image(ids)
            ),
            "content[0].image_file.file_id",
        ),
        (
            "thread message attachment",
            lambda c, ids: c.beta.threads.create(
                messages=[{"role": "user", "content": "x", "attachments": attach(ids)}]
            ),
            "messages[0].attachments[0].file_id",
        ),
        (
            "thread tool_resources",
            lambda c, ids: c.beta.threads.create(tool_resources=resources(ids)),
            "tool_resources.code_interpreter.file_ids[1]",
        ),
        (
            "thread update tool_resources",
            lambda c, ids: c.beta.threads.update(ids["thread"], tool_resources=resources(ids)),
            "tool_resources.code_interpreter.file_ids[1]",
        ),
        (
            "assistant tool_resources",
            lambda c, ids: c.beta.assistants.create(model="m", tool_resources=resources(ids)),
            "tool_resources.code_interpreter.file_ids[1]",
        ),
        (
            "assistant update tool_resources",
            lambda c, ids: c.beta.assistants.update(
                ids["assistant"], tool_resources=resources(ids)
            ),
            "tool_resources.code_interpreter.file_ids[1]",
        ),
        (
            "create-and-run tool_resources",
            lambda c, ids: c.beta.threads.create_and_run(
                assistant_id=ids["assistant"], tool_resources=resources(ids)
            ),
            "tool_resources.code_interpreter.file_ids[1]",
        ),
        (
            "create-and-run thread message image",
            lambda c, ids: c.beta.threads.create_and_run(
                assistant_id=ids["assistant"],
                thread={"messages": [{"role": "user", "content": image(ids)}]},
            ),
            "thread.messages[0].content[0].image_file.file_id",
        ),
        (
            "run additional message attachment",
            lambda c, ids: c.beta.threads.runs.create(
                ids["thread"],
                assistant_id=ids["assistant"],
                additional_messages=[{"role": "user", "content": "x", "attachments": attach(ids)}],
            ),
            "additional_messages[0].attachments[0].file_id",
        ),
    ]


REFERENCE_CASES = _reference_cases()


@pytest.fixture
def referenced(client: openai.OpenAI) -> dict[str, str]:
    """Ids of a CSV file, a PNG file, a deleted file, a thread and an assistant."""
    deleted = client.files.create(file=("gone.txt", b"gone"), purpose="assistants").id
    client.files.delete(deleted)
    return {
        "csv": client.files.create(file=("d.csv", b"a,b\n"), purpose="assistants").id,
        "png": client.files.create(file=("p.png", PNG), purpose="vision").id,
        "deleted": deleted,
        "thread": client.beta.threads.create().id,
        "assistant": client.beta.assistants.create(model="m").id,
    }


@pytest.mark.parametrize(
    ("name", "request_with", "param"), REFERENCE_CASES, ids=[c[0] for c in REFERENCE_CASES]
)
@pytest.mark.parametrize("bad", ["missing", "deleted"])
def test_a_reference_to_a_missing_file_is_refused(
    client: openai.OpenAI,
    database_url: str,
    referenced: dict[str, str],
    name: str,
    request_with: Callable[[openai.OpenAI, dict[str, str]], Any],
    param: str,
    bad: str,
) -> None:
    """A request naming a file that does not exist (or was deleted) gets 400 naming the id and
    where it was given; nothing is stored or changed."""
    ids = {**referenced, "bad": MISSING if bad == "missing" else referenced["deleted"]}
    before = stored_rows(database_url)
    thread_before = client.beta.threads.retrieve(ids["thread"])
    assistant_before = client.beta.assistants.retrieve(ids["assistant"])
    with pytest.raises(openai.BadRequestError) as info:
        request_with(client, ids)
    error = _error(info)
    assert error["param"] == param
    assert f"No file found with id '{ids['bad']}'" in error["message"]
    assert stored_rows(database_url) == before
    assert client.beta.threads.retrieve(ids["thread"]) == thread_before
    assert client.beta.assistants.retrieve(ids["assistant"]) == assistant_before


def test_image_file_content_must_name_an_image(
    client: openai.OpenAI, database_url: str, referenced: dict[str, str]
) -> None:
    """``image_file`` content naming a CSV file gets 400 saying it is not an image; naming a
    PNG file it is stored; existing files are accepted as attachments and tool resources."""
    thread = referenced["thread"]
    before = stored_rows(database_url)
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(
            thread,
            role="user",
            content=[{"type": "image_file", "image_file": {"file_id": referenced["csv"]}}],
        )
    assert _error(info)["param"] == "content[0].image_file.file_id"
    assert "is not an image" in _error(info)["message"]
    assert stored_rows(database_url) == before
    message = client.beta.threads.messages.create(
        thread,
        role="user",
        content=[{"type": "image_file", "image_file": {"file_id": referenced["png"]}}],
        attachments=[{"file_id": referenced["csv"], "tools": [{"type": "code_interpreter"}]}],
    )
    assert message.content[0].image_file.file_id == referenced["png"]  # type: ignore[union-attr]
    assistant = client.beta.assistants.create(
        model="m", tool_resources={"code_interpreter": {"file_ids": [referenced["csv"]]}}
    )
    assert assistant.tool_resources.code_interpreter.file_ids == [referenced["csv"]]  # type: ignore[union-attr]


def test_an_image_named_like_one_but_not_one_is_not_an_image(
    client: openai.OpenAI, referenced: dict[str, str]
) -> None:
    """The server recognises images by their bytes, not their names: a text file called
    ``fake.png`` is refused as ``image_file`` content."""
    fake = client.files.create(file=("fake.png", io.BytesIO(b"not an image")), purpose="vision")
    with pytest.raises(openai.BadRequestError) as info:
        client.beta.threads.messages.create(
            referenced["thread"],
            role="user",
            content=[{"type": "image_file", "image_file": {"file_id": fake.id}}],
        )
    assert "is not an image" in _error(info)["message"]
