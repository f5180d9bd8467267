"""Scripts for the offline model: scripted turns that tests use to drive runs.

A script is a JSON list of rules::

    [
      {"match": "weather",                      # regex searched in the latest user message
       "turns": [
         {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
         {"text": "It is sunny in Paris.", "latency_ms": 50}
       ]},
      {"match": "explode", "turns": [{"error": {"message": "boom", "code": "server_error"}}]}
    ]

A turn is ``{"text": ...}``, ``{"tool_calls": [...]}`` (both together are allowed),
or ``{"error": {"message": ..., "code": ...}}``, each optionally with ``"latency_ms"``.
A tool call is ``{"name": ..., "arguments": {...} or "raw JSON text", "type": "function"}``.

Which turn answers a request is derived from the conversation alone (so it survives restarts
and concurrent runs): the first rule whose ``match`` is found in the latest user message, and
turn *k* where *k* counts the assistant messages after that user message. Past the last turn
the script says so in a text reply; the last turn is not repeated.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant_graph.assistants_server.backends.base import ToolCallRequest

ERROR_CODES = ("server_error", "rate_limit_exceeded", "invalid_prompt")
TURN_KEYS = frozenset({"text", "tool_calls", "error", "latency_ms"})
TOOL_CALL_KEYS = frozenset({"name", "arguments", "type"})

SCRIPT_FORMAT_HINT = (
    'A script is a JSON list of rules {"match": "<regex>", "turns": [turn, ...]}; a turn is '
    '{"text": "..."}, {"tool_calls": [{"name": "...", "arguments": {...}}]} or '
    '{"error": {"message": "...", "code": "server_error"}}, optionally with "latency_ms".'
)
SCRIPT_EXHAUSTED_REPLY = (
    "The offline model's script has no more turns for the rule matching {pattern!r} "
    "(rule {rule}: {count} turn(s); this request would need turn {needed}). Add turns to the "
    "script or start a new user message."
)


class ScriptError(ValueError):
    """The script is not valid; the message says where and what the format is."""


@dataclass(frozen=True)
class ScriptTurn:
    """One scripted model turn."""

    text: str | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()
    error_message: str | None = None
    error_code: str = "server_error"
    latency_ms: float = 0.0


@dataclass(frozen=True)
class ScriptRule:
    """A rule: when ``match`` is found in the latest user message, play ``turns`` in order."""

    number: int
    """1-based position of the rule in the script (for messages)."""
    match: re.Pattern[str]
    turns: tuple[ScriptTurn, ...]


def load_script_file(path: str | Path) -> list[ScriptRule]:
    """Read and validate a JSON script file. Raises :class:`ScriptError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"Cannot read the offline model script {path}: {exc.strerror}.") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(
            f"The offline model script {path} is not valid JSON (line {exc.lineno}, column "
            f"{exc.colno}: {exc.msg})."
        ) from exc
    try:
        return parse_script(data)
    except ScriptError as exc:
        raise ScriptError(f"The offline model script {path} is invalid: {exc}") from exc


def parse_script(data: Any) -> list[ScriptRule]:
    """Validate a script (a list of rule dicts) and return its rules."""
    if not isinstance(data, list):
        raise ScriptError(
            f"expected a list of rules, got {type(data).__name__}. {SCRIPT_FORMAT_HINT}"
        )
    return [_parse_rule(number, rule) for number, rule in enumerate(data, start=1)]


def _parse_rule(number: int, rule: Any) -> ScriptRule:
    where = f"rule {number}"
    if not isinstance(rule, dict):
        raise ScriptError(
            f"{where} must be an object, got {type(rule).__name__}. {SCRIPT_FORMAT_HINT}"
        )
    unknown = set(rule) - {"match", "turns"}
    if unknown:
        raise ScriptError(
            f"{where} has unknown keys {sorted(unknown)}; a rule has 'match' and 'turns'."
        )
    pattern = rule.get("match")
    if not isinstance(pattern, str):
        raise ScriptError(f"{where} needs 'match', a regular expression string.")
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ScriptError(
            f"{where}: 'match' {pattern!r} is not a valid regular expression ({exc})."
        ) from exc
    turns = rule.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScriptError(f"{where} needs 'turns', a non-empty list. {SCRIPT_FORMAT_HINT}")
    parsed = tuple(_parse_turn(f"{where}, turn {i}", turn) for i, turn in enumerate(turns, start=1))
    return ScriptRule(number=number, match=compiled, turns=parsed)


def _parse_turn(where: str, turn: Any) -> ScriptTurn:
    if not isinstance(turn, dict):
        raise ScriptError(
            f"{where} must be an object, got {type(turn).__name__}. {SCRIPT_FORMAT_HINT}"
        )
    unknown = set(turn) - TURN_KEYS
    if unknown:
        raise ScriptError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(TURN_KEYS)}."
        )
    if not ({"text", "tool_calls", "error"} & set(turn)):
        raise ScriptError(f"{where} needs 'text', 'tool_calls' or 'error'. {SCRIPT_FORMAT_HINT}")
    if "error" in turn and ({"text", "tool_calls"} & set(turn)):
        raise ScriptError(f"{where}: an 'error' turn cannot also have 'text' or 'tool_calls'.")

    latency = turn.get("latency_ms", 0)
    if (
        isinstance(latency, bool)
        or not isinstance(latency, int | float)
        or not math.isfinite(latency)
        or latency < 0
    ):
        raise ScriptError(f"{where}: 'latency_ms' must be a non-negative number, got {latency!r}.")

    if "error" in turn:
        error = turn["error"]
        if not isinstance(error, dict) or not isinstance(error.get("message"), str):
            raise ScriptError(
                f'{where}: \'error\' must be {{"message": "...", "code": "server_error"}}.'
            )
        code = error.get("code", "server_error")
        if code not in ERROR_CODES:
            raise ScriptError(
                f"{where}: error code {code!r} must be one of {', '.join(ERROR_CODES)}."
            )
        unknown = set(error) - {"message", "code"}
        if unknown:
            raise ScriptError(f"{where}: 'error' has unknown keys {sorted(unknown)}.")
        return ScriptTurn(
            error_message=error["message"], error_code=code, latency_ms=float(latency)
        )

    text = turn.get("text")
    if text is not None and not isinstance(text, str):
        raise ScriptError(f"{where}: 'text' must be a string.")
    tool_calls: tuple[ToolCallRequest, ...] = ()
    if "tool_calls" in turn:
        calls = turn["tool_calls"]
        if not isinstance(calls, list) or not calls:
            raise ScriptError(f"{where}: 'tool_calls' must be a non-empty list.")
        tool_calls = tuple(
            _parse_tool_call(f"{where}, tool call {i}", call)
            for i, call in enumerate(calls, start=1)
        )
    return ScriptTurn(text=text, tool_calls=tool_calls, latency_ms=float(latency))


def _parse_tool_call(where: str, call: Any) -> ToolCallRequest:
    if not isinstance(call, dict):
        raise ScriptError(f'{where} must be an object like {{"name": "...", "arguments": {{}}}}.')
    unknown = set(call) - TOOL_CALL_KEYS
    if unknown:
        raise ScriptError(
            f"{where} has unknown keys {sorted(unknown)}; allowed: {sorted(TOOL_CALL_KEYS)}."
        )
    call_type = call.get("type", "function")
    if not isinstance(call_type, str) or not call_type:
        raise ScriptError(f"{where}: 'type' must be a string such as 'function'.")
    name = call.get("name", call_type if call_type != "function" else None)
    if not isinstance(name, str) or not name:
        raise ScriptError(f"{where} needs 'name', the function to call.")
    arguments = call.get("arguments", {})
    if isinstance(arguments, dict):
        arguments_text = json.dumps(arguments)
    elif isinstance(arguments, str):
        arguments_text = arguments  # raw text on purpose: lets tests send malformed JSON
    else:
        raise ScriptError(f"{where}: 'arguments' must be an object or a JSON string.")
    return ToolCallRequest(name=name, arguments=arguments_text, type=call_type)


def select_turn(
    rules: list[ScriptRule], user_text: str | None, assistant_turns: int
) -> tuple[ScriptRule, ScriptTurn | None] | None:
    """Find the rule matching ``user_text`` and its turn number ``assistant_turns`` (0-based).

    Returns ``None`` when no rule matches (or there is no user message), and
    ``(rule, None)`` when the rule has no turn left.
    """
    if user_text is None:
        return None
    for rule in rules:
        if rule.match.search(user_text):
            turn = rule.turns[assistant_turns] if assistant_turns < len(rule.turns) else None
            return rule, turn
    return None


def exhausted_reply(rule: ScriptRule, assistant_turns: int) -> str:
    """Return the text the offline model answers with when ``rule`` has no turn left."""
    return SCRIPT_EXHAUSTED_REPLY.format(
        pattern=rule.match.pattern,
        rule=rule.number,
        count=len(rule.turns),
        needed=assistant_turns + 1,
    )
