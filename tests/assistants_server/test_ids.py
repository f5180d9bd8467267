"""Object ids: format, alphabet, spread."""

from __future__ import annotations

import re
from collections import Counter

from assistant_graph.assistants_server.ids import ID_LENGTH, new_id

ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def test_ids_have_the_prefix_and_24_alphanumerics() -> None:
    for prefix in ("run", "thread", "msg", "step", "asst"):
        value = new_id(prefix)
        assert re.fullmatch(rf"{prefix}_[A-Za-z0-9]{{{ID_LENGTH}}}", value), value


def test_ids_are_unique_and_every_character_is_equally_likely() -> None:
    ids = [new_id("x")[2:] for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    counts = Counter("".join(ids))
    assert set(counts) == set(ALPHABET)
    expected = len(ids) * ID_LENGTH / len(ALPHABET)  # ~7742 per character
    # Chi-squared with 61 degrees of freedom: ~61 on average; 130 is far beyond chance
    # (p < 1e-6), while a modulo bias (bytes 248..255 mapped onto 8 characters) gives ~3000.
    chi_squared = sum((count - expected) ** 2 / expected for count in counts.values())
    assert chi_squared < 130, chi_squared
