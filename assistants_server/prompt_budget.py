"""A run's ``max_prompt_tokens``: a deterministic token estimate and fitting a prompt into it.

The estimate does not depend on the model (no tokenizer is needed): about four characters per
token, plus a few tokens per message for its role and framing. When a prompt is over budget,
the oldest conversation turns are dropped first; the system message and everything from the
latest user message on (the question being answered and this run's own tool round trips) are
always kept. An assistant message with tool calls and the tool results answering it are
dropped together, so the remaining prompt is still valid chat.
"""

from __future__ import annotations

import json
import math
from typing import Any

CHARS_PER_TOKEN = 4
"""Characters counted as one token by :func:`estimate_tokens`."""
TOKENS_PER_MESSAGE = 4
"""Tokens added per message (role and framing)."""
TOKENS_PER_TOOL_CALL = 3
"""Tokens added per tool call (id and type)."""


def _text_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _content_tokens(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _text_tokens(content)
    return _text_tokens(json.dumps(content, separators=(",", ":"), ensure_ascii=False))


def estimate_message_tokens(message: dict[str, Any]) -> int:
    """Return the estimated prompt tokens of one chat-completions message."""
    tokens = TOKENS_PER_MESSAGE + _content_tokens(message.get("content"))
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        tokens += TOKENS_PER_TOOL_CALL + _text_tokens(
            function.get("name", "") + function.get("arguments", "")
        )
    return tokens


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """Return the estimated prompt tokens of a list of chat-completions messages."""
    return sum(estimate_message_tokens(message) for message in messages)


def _droppable_units(middle: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split messages into units that can be dropped alone (a tool call with its results)."""
    units: list[list[dict[str, Any]]] = []
    for message in middle:
        if message.get("role") == "tool" and units:
            units[-1].append(message)
        else:
            units.append([message])
    return units


def fit_prompt(messages: list[dict[str, Any]], max_tokens: int) -> list[dict[str, Any]] | None:
    """``messages`` with the oldest turns dropped until the estimate is within ``max_tokens``.

    Returns None when even the kept part (system message and everything from the latest user
    message on) is over budget.
    """
    if estimate_tokens(messages) <= max_tokens:
        return messages
    head = messages[:1] if messages and messages[0].get("role") == "system" else []
    last_user = max(
        (i for i, message in enumerate(messages) if message.get("role") == "user"),
        default=len(head),
    )
    last_user = max(last_user, len(head))
    tail = messages[last_user:]
    units = _droppable_units(messages[len(head) : last_user])
    budget = max_tokens - estimate_tokens(head) - estimate_tokens(tail)
    if budget < 0:
        return None
    kept: list[list[dict[str, Any]]] = []
    used = 0
    for unit in reversed(units):  # newest first: keep as many recent turns as fit
        cost = estimate_tokens(unit)
        if used + cost > budget:
            break
        kept.append(unit)
        used += cost
    kept.reverse()
    return head + [message for unit in kept for message in unit] + tail
