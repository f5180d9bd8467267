"""Validate server responses against OpenAI's official OpenAPI spec.

The spec mixes OpenAPI-3.0 ``nullable: true`` into a 3.1 document; a plain JSON-Schema
validator would reject valid bodies, so every ``nullable: true`` schema is rewritten to
``anyOf: [<schema>, {"type": "null"}]`` before validating. ``$ref``s resolve within the spec.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

EVENT_SCHEMAS = {
    "thread.created": "ThreadObject",
    "thread.run.step.delta": "RunStepDeltaObject",
    "thread.message.delta": "MessageDeltaObject",
}
"""Stream event name → schema of its ``data`` (prefix rules below cover the rest)."""


def _allow_null(node: Any) -> Any:
    if isinstance(node, dict):
        rewritten = {key: _allow_null(value) for key, value in node.items()}
        if rewritten.pop("nullable", False) is True:
            return {"anyOf": [rewritten, {"type": "null"}]}
        return rewritten
    if isinstance(node, list):
        return [_allow_null(item) for item in node]
    return node


@functools.lru_cache(maxsize=4)
def load_spec(path: Path) -> dict[str, Any]:
    """The spec with nullable rewritten (cached per path)."""
    with path.open(encoding="utf-8") as handle:
        return _allow_null(yaml.safe_load(handle))  # type: ignore[no-any-return]


class Contract:
    """Validates bodies against named component schemas of the spec."""

    def __init__(self, spec_path: Path) -> None:
        self.spec = load_spec(spec_path)
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def validator(self, schema_name: str) -> jsonschema.protocols.Validator:
        if schema_name not in self.spec["components"]["schemas"]:
            raise KeyError(f"{schema_name} is not a schema of the spec")
        if schema_name not in self._validators:
            root = {key: value for key, value in self.spec.items() if key != "paths"}
            root["$ref"] = f"#/components/schemas/{schema_name}"
            self._validators[schema_name] = jsonschema.Draft202012Validator(root)
        return self._validators[schema_name]

    def check(self, schema_name: str, body: Any) -> None:
        """Raise AssertionError listing every violation of ``schema_name`` by ``body``."""
        errors = sorted(self.validator(schema_name).iter_errors(body), key=lambda e: list(e.path))
        if errors:
            details = "\n".join(f"- at {list(e.path)}: {e.message[:300]}" for e in errors[:10])
            raise AssertionError(f"Body does not match {schema_name}:\n{details}")

    def check_event(self, event: str, data: Any) -> str:
        """Validate a stream event's data; return the schema used."""
        schema = EVENT_SCHEMAS.get(event)
        if schema is None:
            if event.startswith("thread.run.step."):
                schema = "RunStepObject"
            elif event.startswith("thread.run."):
                schema = "RunObject"
            elif event.startswith("thread.message."):
                schema = "MessageObject"
            else:
                raise AssertionError(f"Unexpected stream event {event!r}")
        self.check(schema, data)
        return schema
