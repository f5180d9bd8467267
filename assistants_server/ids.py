"""Public object ids with OpenAI's prefixes, and Unix-second timestamps."""

from __future__ import annotations

import secrets
import time

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_id(prefix: str) -> str:
    """Return a random id such as ``run_3kT9...`` (24 characters after the prefix)."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(24))


def now() -> int:
    """Return the current time in Unix seconds, as the API reports times."""
    return int(time.time())
