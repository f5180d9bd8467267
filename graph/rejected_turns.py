"""Undo a turn whose user message the Assistants endpoint refused.

The graph's own input check (``assistant_graph.graph.input_check``) runs before LangGraph saves
a turn's input; some refusals only the endpoint can make (its request size limit, an unknown
assistant or thread, a configuration it rejects). The request that carries a new turn's
message also starts its run, in one transaction server-side, so such a refusal means the
message was not stored. Left in the checkpoint, it would make the LangGraph history and the
Assistants thread diverge; so the compiled graph takes it out again:

* :func:`rejection_of` tells whether an error is such a refusal, and which error to raise
  (the project's error when the node raised one, else :class:`MessageRejectedError`);
* :func:`undo_turn` removes the messages the turn added (compared with the turn's "input"
  checkpoint, the parent of the failed step's) with ``update_state`` and ``RemoveMessage``,
  as the assistant node, so the thread's state values are those from before the turn and
  the next turn starts normally.

Only the failed step of a new turn is undone (the checkpoint's next node is the assistant and
its last message is the user's); transport failures and time-outs are not refusals: the message
may have arrived, and ``invoke(None, config)`` resumes the turn with the same Idempotency-Key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant_graph.graph.errors import (
    AssistantGraphError,
    ConfigurationError,
    MessageRejectedError,
    UnknownAssistantError,
)
from langchain_core.messages import AnyMessage, HumanMessage, RemoveMessage
from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

if TYPE_CHECKING:
    import openai

REFUSING_STATUSES = frozenset({400, 401, 403, 404, 413, 422})
"""HTTP statuses with which the endpoint refuses a request without storing anything."""
ASSISTANT_NODE = "assistant"


def rejection_of(exc: BaseException) -> BaseException | None:
    """Return the error to raise for a refused turn, or ``None`` when ``exc`` is not a refusal."""
    if isinstance(exc, UnknownAssistantError | ConfigurationError):
        return exc
    import openai  # loaded by the failed step already; not at import (start-up time)

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, openai.APIStatusError) and cause.status_code in REFUSING_STATUSES:
            if isinstance(exc, AssistantGraphError):
                return exc
            return MessageRejectedError(cause.status_code, _detail(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def undo_turn(graph: Any, config: RunnableConfig | None) -> bool:
    """Remove a refused new turn's messages from the thread's checkpoint (see the module doc).

    Returns whether the failed step was a new turn that is now undone.
    """
    latest = _latest(config)
    if latest is None or graph.checkpointer is None:
        return False
    current = graph.get_state(latest)
    if not _failed_new_turn(current):
        return False
    parent = graph.get_state(current.parent_config) if current.parent_config else None
    removal = _removal(current, parent)
    if removal:
        graph.update_state(latest, removal, as_node=ASSISTANT_NODE)
    return True


async def aundo_turn(graph: Any, config: RunnableConfig | None) -> bool:
    """Async :func:`undo_turn`."""
    latest = _latest(config)
    if latest is None or graph.checkpointer is None:
        return False
    current = await graph.aget_state(latest)
    if not _failed_new_turn(current):
        return False
    parent = await graph.aget_state(current.parent_config) if current.parent_config else None
    removal = _removal(current, parent)
    if removal:
        await graph.aupdate_state(latest, removal, as_node=ASSISTANT_NODE)
    return True


def _latest(config: RunnableConfig | None) -> RunnableConfig | None:
    """Return the config naming the thread's latest checkpoint; None outside a top-level thread."""
    configurable = (config or {}).get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None or configurable.get("checkpoint_ns"):
        return None  # no thread to restore, or run as a subgraph of another graph
    return {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}


def _failed_new_turn(snapshot: StateSnapshot) -> bool:
    messages: list[AnyMessage] = list(snapshot.values.get("messages") or [])
    return (
        snapshot.next == (ASSISTANT_NODE,)
        and bool(messages)
        and isinstance(messages[-1], HumanMessage)
    )


def _removal(current: StateSnapshot, parent: StateSnapshot | None) -> dict[str, Any]:
    """Return the ``update_state`` values that take out what the turn added.

    ``parent`` is the failed step's parent checkpoint: the turn's "input" checkpoint, holding
    the state from before the turn, unless the run saved none (``durability="exit"``).
    """
    messages: list[AnyMessage] = list(current.values.get("messages") or [])
    before = parent if parent and (parent.metadata or {}).get("source") == "input" else None
    if before is not None:
        kept = {m.id for m in before.values.get("messages") or []}
        added = [m for m in messages if m.id not in kept]
    else:  # no "input" checkpoint (durability="exit"): the trailing user messages
        added = []
        for message in reversed(messages):
            if not isinstance(message, HumanMessage):
                break
            added.append(message)
    return {"messages": [RemoveMessage(id=str(m.id)) for m in added]} if added else {}


def _detail(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(error.message)
