"""JSON for the server's hot paths: orjson, with the standard library for what it refuses.

Run events and the database's JSON columns carry runs with their tools' schemas (several KB
each); encoding and decoding them with orjson takes a fraction of the standard library's time.
orjson refuses integers beyond 64 bits and (when decoding) ``NaN``/``Infinity``, which the
standard library accepts; those values take the standard library's path, so nothing that
worked before is refused now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_ENCODE_FALLBACK = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(data: Any) -> bytes:
    """Return compact UTF-8 JSON of ``data``."""
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:
        return _ENCODE_FALLBACK(data).encode()


def dumps_text(data: Any) -> str:
    """Return compact JSON of ``data`` as text (a JSON column's stored form)."""
    try:
        return orjson.dumps(data).decode()
    except orjson.JSONEncodeError:
        return _ENCODE_FALLBACK(data)


def loads_text(text: str | bytes) -> Any:
    """Decode JSON text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
