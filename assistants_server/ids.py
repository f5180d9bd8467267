"""Public object ids with OpenAI's prefixes, and Unix-second timestamps."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ID_LENGTH = 24
"""Random characters after the prefix (~143 bits)."""
_UNBIASED_LIMIT = 256 - 256 % len(_ALPHABET)
"""Random bytes at or above this are skipped, so every character is equally likely."""
_CHARACTER_OF = {value: _ALPHABET[value % len(_ALPHABET)] for value in range(_UNBIASED_LIMIT)}


def new_id(prefix: str, separator: str = "_") -> str:
    """Return a random id such as ``run_3kT9...`` (24 characters after the prefix).

    ``separator`` joins prefix and random part (files use ``-``, as upstream: ``file-3kT9...``).
    One call to the system's random source per id (not one per character).
    """
    characters: list[str] = []
    while len(characters) < ID_LENGTH:
        characters.extend(
            _CHARACTER_OF[value] for value in secrets.token_bytes(32) if value < _UNBIASED_LIMIT
        )
    return prefix + separator + "".join(characters[:ID_LENGTH])


def now() -> int:
    """Return the current time in Unix seconds, as the API reports times."""
    return int(time.time())
