"""Chunking strategies (the spec's ``auto`` and ``static``) and splitting text into chunks.

``auto`` is 800 tokens with 400 of overlap; ``static`` takes ``max_chunk_size_tokens`` from
100 to 4096 and ``chunk_overlap_tokens`` from 0 to half of it. Chunks are windows over the
text's tokens, cut back to whole characters, so every chunk is a verbatim slice of the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

from assistant_graph.assistants_server.retrieval import tokens
from assistant_graph.assistants_server.retrieval.errors import (
    BAD_CHUNK_SIZE,
    BAD_OVERLAP,
    BAD_STRATEGY,
    RetrievalInputError,
)

AUTO_MAX_TOKENS = 800
AUTO_OVERLAP_TOKENS = 400
MIN_CHUNK_TOKENS = 100
MAX_CHUNK_TOKENS = 4096


@dataclass(frozen=True)
class Chunk:
    """One chunk: its text, token count and character offsets in the parsed text."""

    text: str
    tokens: int
    start: int
    end: int


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_strategy(strategy: Any) -> dict[str, Any]:
    """Validate a request's ``chunking_strategy``; return the stored ``static`` form.

    ``None`` and ``{"type": "auto"}`` become 800/400. Raises :class:`RetrievalInputError`.
    """
    if strategy is None or strategy == {"type": "auto"}:
        return static_strategy(AUTO_MAX_TOKENS, AUTO_OVERLAP_TOKENS)
    if not isinstance(strategy, dict) or strategy.get("type") != "static":
        raise RetrievalInputError(BAD_STRATEGY.format(value=strategy), "chunking_strategy")
    static = strategy.get("static")
    if not isinstance(static, dict) or set(strategy) != {"type", "static"}:
        raise RetrievalInputError(BAD_STRATEGY.format(value=strategy), "chunking_strategy")
    size = static.get("max_chunk_size_tokens")
    overlap = static.get("chunk_overlap_tokens")
    if not _is_int(size) or not MIN_CHUNK_TOKENS <= size <= MAX_CHUNK_TOKENS:
        raise RetrievalInputError(BAD_CHUNK_SIZE.format(value=size), "chunking_strategy")
    limit = size // 2
    if not _is_int(overlap) or not 0 <= overlap <= limit:
        raise RetrievalInputError(
            BAD_OVERLAP.format(value=overlap, limit=limit), "chunking_strategy"
        )
    return static_strategy(size, overlap)


def static_strategy(max_tokens: int, overlap: int) -> dict[str, Any]:
    """Build the spec's ``static`` chunking strategy object."""
    return {
        "type": "static",
        "static": {"max_chunk_size_tokens": max_tokens, "chunk_overlap_tokens": overlap},
    }


def _char_offsets(text: str, byte_offsets: list[int]) -> dict[int, int]:
    """Map sorted UTF-8 byte offsets to character offsets, rounding up to a character start."""
    encoded = text.encode("utf-8")
    result: dict[int, int] = {}
    done_bytes = done_chars = 0
    for wanted in byte_offsets:
        offset = wanted
        while offset < len(encoded) and (encoded[offset] & 0xC0) == 0x80:
            offset += 1  # inside a multi-byte character: move to its end
        done_chars += len(encoded[done_bytes:offset].decode("utf-8"))
        done_bytes = offset
        result[wanted] = done_chars
    return result


def chunk_text(text: str, max_tokens: int, overlap: int) -> list[Chunk]:
    """Split ``text`` into windows of at most ``max_tokens`` tokens, ``overlap`` shared."""
    ids = tokens.encode(text)
    if not ids:
        return []
    step = max_tokens - overlap
    starts = list(range(0, max(len(ids) - overlap, 1), step))
    ends = [min(start + max_tokens, len(ids)) for start in starts]
    bounds = tokens.byte_offsets(ids, sorted(set(starts) | set(ends)))
    chars = _char_offsets(text, sorted(set(bounds.values())))
    chunks = []
    for start, end in zip(starts, ends, strict=True):
        first, last = chars[bounds[start]], chars[bounds[end]]
        piece = text[first:last]
        if piece.strip():
            chunks.append(Chunk(piece, end - start, first, last))
    return chunks
