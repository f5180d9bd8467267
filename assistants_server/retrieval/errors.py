"""Errors of retrieval: what went wrong with a file, a chunking strategy or a search.

:class:`IngestionError` carries a vector store file's ``last_error`` (``code`` and ``message``,
as the spec defines them); :class:`RetrievalInputError` is bad input a client can fix (an HTTP
400). Messages are constants that say what to do next.
"""

from __future__ import annotations

from typing import Literal

ErrorCode = Literal["server_error", "unsupported_file", "invalid_file"]

EMPTY_FILE = "The file {filename!r} is empty: upload a file with text in it."
NO_TEXT = (
    "No text could be extracted from {filename!r} ({kind}); a scanned PDF needs OCR first, "
    "or upload the text itself."
)
UNSUPPORTED_FILE = (
    "{filename!r} is not a supported file type for search. Supported: plain text, Markdown, "
    "HTML, JSON, source code, PDF and DOCX; upload one of these or convert the file to text."
)
UNREADABLE_FILE = (
    "{filename!r} could not be read as {kind}: {reason}. Check that it is not damaged."
)
NOT_UTF8 = "{filename!r} is not UTF-8 text; save it as UTF-8 and upload it again."
BAD_CHUNK_SIZE = (
    "chunking_strategy.static.max_chunk_size_tokens must be an integer from 100 to 4096; "
    "got {value!r}."
)
BAD_OVERLAP = (
    "chunking_strategy.static.chunk_overlap_tokens must be an integer from 0 to half of "
    "max_chunk_size_tokens ({limit}); got {value!r}."
)
BAD_STRATEGY = (
    "chunking_strategy must be {{'type': 'auto'}} or {{'type': 'static', 'static': "
    "{{'max_chunk_size_tokens': ..., 'chunk_overlap_tokens': ...}}}}; got {value!r}."
)
BAD_FILTER = (
    "filters: {problem}. A filter is {{'type': 'eq'|'ne'|'gt'|'gte'|'lt'|'lte'|'in'|'nin', "
    "'key': ..., 'value': ...}} or {{'type': 'and'|'or', 'filters': [...]}}."
)
BAD_MAX_RESULTS = "max_num_results must be an integer from 1 to 50; got {value!r}."
BAD_THRESHOLD = "ranking_options.score_threshold must be a number from 0 to 1; got {value!r}."
BAD_QUERY = "query must be a non-empty string or a non-empty list of strings."
EMBEDDER_FAILED = (
    "The embeddings endpoint failed ({reason}); check ASSISTANTS_SERVER_EMBEDDING_MODEL and "
    "the model endpoint (OPENAI_BASE_URL / OPENAI_API_KEY)."
)


class IngestionError(Exception):
    """A file that cannot be indexed; ``code`` and ``message`` become its ``last_error``."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: ErrorCode = code
        self.message = message

    def last_error(self) -> dict[str, str]:
        """Return the vector store file's ``last_error`` object."""
        return {"code": self.code, "message": self.message}


class RetrievalInputError(ValueError):
    """A chunking strategy, filter or search request the client must fix (HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param
