"""Object ids (format, alphabet, spread) and the hot-path JSON codec (orjson with fallbacks)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter

from assistant_graph.assistants_server.events import StreamEvent
from assistant_graph.assistants_server.ids import ID_LENGTH, new_id
from assistant_graph.assistants_server.json_codec import dumps, dumps_text, loads_text

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


def test_json_is_compact_utf8_and_round_trips() -> None:
    data = {"text": "é ✓", "n": [1, 2.5, None, True], "nested": {"a": {}}}
    assert dumps(data) == json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    assert loads_text(dumps_text(data)) == data


def test_what_orjson_refuses_takes_the_standard_library_path() -> None:
    huge = {"n": 2**70, "keys": {1: "int key"}}
    assert json.loads(dumps(huge)) == {"n": 2**70, "keys": {"1": "int key"}}
    assert json.loads(dumps_text(huge)) == {"n": 2**70, "keys": {"1": "int key"}}
    # Rows written by the standard library may hold NaN/Infinity, which orjson will not read.
    assert math.isnan(loads_text('{"x": NaN}')["x"])
    assert loads_text(b'{"x": Infinity}')["x"] == math.inf


def test_an_event_frame_is_one_sse_frame_with_compact_json() -> None:
    frame = StreamEvent("thread.run.created", {"id": "run_1", "text": "é"}).frame()
    assert frame == 'event: thread.run.created\ndata: {"id":"run_1","text":"é"}\n\n'.encode()
