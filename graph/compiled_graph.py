"""The compiled agent graph: LangGraph's compiled graph with a guarded entry.

:class:`AssistantGraph` subclasses ``CompiledStateGraph`` and wraps its ``stream`` and
``astream`` (the entry points of ``invoke``, ``ainvoke``, ``batch``, ``astream_events`` and
``langgraph dev``):

* the input of a new turn is checked before LangGraph saves it
  (:func:`~assistant_graph.graph.input_check.check_graph_input`), and its messages get their
  ids then, so they are saved with the input (the assistant node's Idempotency-Keys use them,
  see :mod:`assistant_graph.graph.idempotency_keys`);
* a run with the graph's own checkpointer and no ``durability`` argument saves every step
  before the next starts (``"sync"``): a crash then loses no step, not even the turn's input;
* a turn whose user message the Assistants endpoint refused is taken out of the checkpoint
  again (:mod:`assistant_graph.graph.rejected_turns`), and the error says why.

``copy()`` (used by ``with_config`` and by ``langgraph dev``) keeps the class.

This is the one module that depends on LangGraph internals: ``StateGraph.compile`` always
builds a plain ``CompiledStateGraph``, and :func:`as_assistant_graph` re-creates it as an
:class:`AssistantGraph` from its attributes — the way ``Pregel.copy`` does. The langgraph
version range is pinned in ``pyproject.toml`` and ``tests/graph/test_langgraph_contract.py``
fails when a LangGraph release changes what this relies on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from assistant_graph.graph import rejected_turns
from assistant_graph.graph.context import Context
from assistant_graph.graph.input_check import check_graph_input, with_message_ids
from assistant_graph.graph.state import InputState, OutputState, State
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

DEFAULT_DURABILITY = "sync"
"""Durability of a run with the graph's own checkpointer when the caller names none."""


class AssistantGraph(CompiledStateGraph[State, Context, InputState, OutputState]):
    """The compiled agent graph (see the module doc)."""

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator:
        """``CompiledStateGraph.stream``, with the input checked and a refused turn undone."""
        input = self._prepare(input, kwargs)
        try:
            yield from super().stream(input, config, **kwargs)
        except Exception as exc:
            rejection = rejected_turns.rejection_of(exc)
            if rejection is None or not rejected_turns.undo_turn(self, config):
                raise
            if rejection is exc:
                raise
            raise rejection from exc

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator:
        """Async :meth:`stream`."""
        input = self._prepare(input, kwargs)
        try:
            async for chunk in super().astream(input, config, **kwargs):
                yield chunk
        except Exception as exc:
            rejection = rejected_turns.rejection_of(exc)
            if rejection is None or not await rejected_turns.aundo_turn(self, config):
                raise
            if rejection is exc:
                raise
            raise rejection from exc

    def _prepare(self, input: Any, kwargs: dict[str, Any]) -> Any:
        """Check the input and give its messages ids; default the durability to ``"sync"``."""
        check_graph_input(input)
        if kwargs.get("durability") is None and isinstance(self.checkpointer, BaseCheckpointSaver):
            kwargs["durability"] = DEFAULT_DURABILITY
        return with_message_ids(input)


def as_assistant_graph(
    compiled: CompiledStateGraph[State, Context, InputState, OutputState],
) -> AssistantGraph:
    """Return ``compiled`` as an :class:`AssistantGraph` (same nodes, channels and settings)."""
    attrs = {k: v for k, v in vars(compiled).items() if k != "__orig_class__"}
    return AssistantGraph(**attrs)
