r"""Request bodies of the Assistants v2 endpoints, validated with pydantic.

Unknown fields are rejected (``Unknown parameter``), unknown tool types fail on the ``type``
tag, and metadata follows upstream's limits (16 keys, keys ≤ 64 chars, values ≤ 512 chars).
No text anywhere in a body may hold a lone surrogate (JSON ``"\ud800"``: it cannot be
stored as UTF-8), message content may not be empty, and a run's token limits are at least
the spec's minimum of 256.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from assistant_graph.assistants_server.errors import EMPTY_CONTENT_MESSAGE, LONE_SURROGATE_MESSAGE
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

METADATA_MAX_KEYS = 16
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 512
BUILTIN_TOOL_TYPES = frozenset({"code_interpreter", "file_search"})
MIN_RUN_TOKENS = 256
"""The spec's minimum of ``max_prompt_tokens`` and ``max_completion_tokens``."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate_at(value: Any, path: str) -> str | None:
    """Return where (``path`` extended) the first lone surrogate in a JSON value is, else None.

    Nested request models check their own fields, so they are not entered.
    """
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _SURROGATE.search(key):
                return f"{path} (a key)"
            found = _lone_surrogate_at(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _lone_surrogate_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    """Enforce upstream's metadata limits."""
    if value is None:
        return None
    if len(value) > METADATA_MAX_KEYS:
        raise ValueError(f"metadata has {len(value)} keys; at most {METADATA_MAX_KEYS} are allowed")
    for key, item in value.items():
        if len(key) > METADATA_MAX_KEY_CHARS:
            raise ValueError(
                f"metadata key {key[:20]!r}... is {len(key)} characters; "
                f"keys may have at most {METADATA_MAX_KEY_CHARS}"
            )
        if len(item) > METADATA_MAX_VALUE_CHARS:
            raise ValueError(
                f"metadata value of {key!r} is {len(item)} characters; "
                f"values may have at most {METADATA_MAX_VALUE_CHARS}"
            )
    return value


Metadata = dict[str, str] | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_lone_surrogates(cls, value: Any, info: ValidationInfo) -> Any:
        where = _lone_surrogate_at(value, info.field_name or "")
        if where is not None:
            raise ValueError(LONE_SURROGATE_MESSAGE.format(where=where))
        return value


class _WithMetadata(_Strict):
    metadata: Metadata = None

    @field_validator("metadata")
    @classmethod
    def _limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_metadata(value)


class FunctionDefinition(_Strict):
    """A function tool's declaration."""

    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(_Strict):
    """``{"type": "function", "function": {...}}``."""

    type: Literal["function"]
    function: FunctionDefinition


class CodeInterpreterTool(_Strict):
    """``{"type": "code_interpreter"}`` (accepted; executed only by backends that support it)."""

    type: Literal["code_interpreter"]


class FileSearchRanking(_Strict):
    """``file_search.ranking_options``: the ranker and the minimum score of a result."""

    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: float = Field(ge=0, le=1)


class FileSearchOptions(_Strict):
    """``file_search`` settings of the tool: results per search (1 to 50) and ranking."""

    max_num_results: int | None = Field(default=None, ge=1, le=50)
    ranking_options: FileSearchRanking | None = None


class FileSearchTool(_Strict):
    """``{"type": "file_search"}``, executed by the server inside runs (``worker.file_search``)."""

    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


Tool = Annotated[FunctionTool | CodeInterpreterTool | FileSearchTool, Field(discriminator="type")]


class AttachmentTool(_Strict):
    """A tool an attached file is meant for."""

    type: Literal["code_interpreter", "file_search"]


class Attachment(_Strict):
    """A file attached to a message."""

    file_id: str
    tools: list[AttachmentTool] = Field(default_factory=list)


class TextPart(_Strict):
    """A text content part."""

    type: Literal["text"]
    text: str


class ImageUrl(_Strict):
    """An image URL and its detail level."""

    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImageUrlPart(_Strict):
    """An image given by URL."""

    type: Literal["image_url"]
    image_url: ImageUrl


class ImageFile(_Strict):
    """An uploaded image file."""

    file_id: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImageFilePart(_Strict):
    """An image given by file id."""

    type: Literal["image_file"]
    image_file: ImageFile


ContentPart = Annotated[TextPart | ImageUrlPart | ImageFilePart, Field(discriminator="type")]


class CreateMessage(_WithMetadata):
    """Body of ``POST /threads/{id}/messages`` (and initial thread messages)."""

    role: Literal["user", "assistant"]
    content: str | list[ContentPart]
    attachments: list[Attachment] | None = None

    @field_validator("content")
    @classmethod
    def _not_empty(cls, value: str | list[Any]) -> str | list[Any]:
        if isinstance(value, str):
            empty = not value.strip()
        else:
            empty = not value or any(
                isinstance(part, TextPart) and not part.text.strip() for part in value
            )
        if empty:
            raise ValueError(EMPTY_CONTENT_MESSAGE)
        return value


class ModifyMessage(_WithMetadata):
    """Body of ``POST /threads/{id}/messages/{id}``."""


class CreateAssistant(_WithMetadata):
    """Body of ``POST /assistants``."""

    model: str = Field(min_length=1)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_resources: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: Any = None


class ModifyAssistant(_WithMetadata):
    """Body of ``POST /assistants/{id}``: only given fields change."""

    model: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, max_length=256)
    description: str | None = Field(default=None, max_length=512)
    instructions: str | None = Field(default=None, max_length=256_000)
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    tool_resources: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    response_format: Any = None


class CreateThread(_WithMetadata):
    """Body of ``POST /threads``."""

    messages: list[CreateMessage] | None = None
    tool_resources: dict[str, Any] | None = None


class ModifyThread(_WithMetadata):
    """Body of ``POST /threads/{id}``."""

    tool_resources: dict[str, Any] | None = None


class TruncationStrategy(_Strict):
    """How much of the thread a run sends to the model."""

    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(default=None, ge=1)


class NamedToolChoiceFunction(_Strict):
    """The function a named tool choice forces."""

    name: str


class NamedToolChoice(_Strict):
    """``{"type": "function", "function": {"name": ...}}`` or a built-in type."""

    type: Literal["function", "code_interpreter", "file_search"]
    function: NamedToolChoiceFunction | None = None


ToolChoice = Literal["none", "auto", "required"] | NamedToolChoice


class _RunOptions(_WithMetadata):
    assistant_id: str = Field(min_length=1)
    model: str | None = None
    instructions: str | None = None
    tools: list[Tool] | None = Field(default=None, max_length=128)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(default=None, ge=MIN_RUN_TOKENS)
    max_completion_tokens: int | None = Field(default=None, ge=MIN_RUN_TOKENS)
    truncation_strategy: TruncationStrategy | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: Any = None


class CreateRun(_RunOptions):
    """Body of ``POST /threads/{id}/runs``."""

    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    additional_instructions: str | None = None
    additional_messages: list[CreateMessage] | None = None


class CreateThreadAndRun(_RunOptions):
    """Body of ``POST /threads/runs``."""

    thread: CreateThread | None = None
    tool_resources: dict[str, Any] | None = None


class ModifyRun(_WithMetadata):
    """Body of ``POST /threads/{id}/runs/{id}``."""


class ToolOutput(_Strict):
    """One tool call's output."""

    tool_call_id: str | None = None
    output: str | None = None


class SubmitToolOutputs(_Strict):
    """Body of ``POST /threads/{id}/runs/{id}/submit_tool_outputs``."""

    tool_outputs: list[ToolOutput]
    stream: bool | None = None


def dump_tools(tools: list[Any] | None) -> list[dict[str, Any]]:
    """Tools as plain JSON dicts, without unset optional fields."""
    return [t.model_dump(exclude_none=True) for t in tools or []]
