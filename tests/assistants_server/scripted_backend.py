"""A scripted model backend for server tests: answers with queued turns, records requests.

It satisfies ``assistants_server.backends.base.ModelBackend``. Turns are ``ModelTurn``s,
``ModelError``s (raised) or ``HOLD`` (the call sleeps until cancelled, so a test can catch a
run ``in_progress``). Text is streamed through ``on_text_delta`` word by word.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque

from assistant_graph.assistants_server.backends.base import (
    ModelError,
    ModelRequest,
    ModelTurn,
    TextDeltaCallback,
)

HOLD = object()
"""A turn that never finishes on its own (the run stays in_progress until cancelled)."""


class Gate:
    """A turn that waits until ``open()`` is called (from any thread), then answers ``turn``."""

    def __init__(self, turn: ModelTurn) -> None:
        self.turn = turn
        self._event = threading.Event()

    def open(self) -> None:
        self._event.set()

    async def wait(self) -> ModelTurn:
        while not self._event.is_set():
            await asyncio.sleep(0.01)
        return self.turn


class ScriptedBackend:
    """Plays back turns in order; past the end it answers ``"done"``."""

    name = "scripted"

    def __init__(
        self, *turns: object, supported_builtin_tools: frozenset[str] = frozenset()
    ) -> None:
        self.turns: deque[object] = deque(turns)
        self.supported_builtin_tools = supported_builtin_tools
        self.requests: list[ModelRequest] = []
        self.call_started = threading.Event()
        self.cancelled_calls = 0
        self.closed = False

    def add(self, *turns: object) -> None:
        """Queue more turns."""
        self.turns.extend(turns)

    async def complete(
        self, request: ModelRequest, on_text_delta: TextDeltaCallback | None = None
    ) -> ModelTurn:
        self.requests.append(request)
        turn = self.turns.popleft() if self.turns else ModelTurn(text="done")
        self.call_started.set()
        if turn is HOLD:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                self.cancelled_calls += 1
                raise
        if isinstance(turn, Gate):
            turn = await turn.wait()
        if isinstance(turn, ModelError):
            raise turn
        assert isinstance(turn, ModelTurn)
        if on_text_delta is not None and turn.text:
            words = turn.text.split(" ")
            for index, word in enumerate(words):
                await on_text_delta(word if index == len(words) - 1 else word + " ")
        return turn

    async def aclose(self) -> None:
        self.closed = True
