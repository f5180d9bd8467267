"""Idempotency-Keys for the assistant node's requests, derived from what survives a crash.

LangGraph's ``"async"`` durability (the default of ``langgraph dev``; the graph itself defaults
to ``"sync"`` with its own checkpointer) saves a step's checkpoint while the next step runs, so
a killed process can lose its last checkpoints. The resumed turn then runs again from the
turn's "input" checkpoint, under new LangGraph task and checkpoint ids. A key must therefore not
depend on them; it is made of what any re-run of the same step sees again:

* a new turn: the LangGraph thread, the Assistants thread (empty on the first turn), and the
  user message — its id (given when the graph received the input, and saved with it, see
  :mod:`assistant_graph.graph.compiled_graph`), position and text;
* handing tool outputs to a run: the LangGraph thread, the run id and the answered call ids.

So a re-run step gets the same key, and the server answers it with the run the first attempt
started instead of a second thread, message or run; two conversations never share a key, even
under the same LangGraph thread id with the same first question. Without a LangGraph thread id
(no checkpointer) nothing can resume, and every step gets a fresh key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence

from assistant_graph.graph.planning import NewTurn, Step
from langchain_core.messages import AnyMessage
from langchain_core.runnables import RunnableConfig

KEY_PREFIX = "ag-"


def idempotency_base(
    config: RunnableConfig, messages: Sequence[AnyMessage], assistant_thread_id: str, step: Step
) -> str:
    """Return the base of this step's Idempotency-Keys (see the module doc).

    ``messages`` and ``assistant_thread_id`` are the state the step runs on; ``step`` is what
    :func:`~assistant_graph.graph.planning.plan_step` made of them.
    """
    configurable = config.get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None or thread_id == "":
        return KEY_PREFIX + uuid.uuid4().hex
    parts = [str(thread_id), _graph_path(str(configurable.get("checkpoint_ns") or ""))]
    if isinstance(step, NewTurn):
        message = messages[-1]
        parts += [
            "turn",
            assistant_thread_id,
            str(message.id),
            str(len(messages) - 1),
            step.content,
        ]
    else:
        parts += ["submit", step.run_id, *sorted(r.call_id for r in step.results)]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass"))
    return KEY_PREFIX + digest.hexdigest()[:32]


def _graph_path(checkpoint_ns: str) -> str:
    """Return the node path of a checkpoint namespace without its task ids.

    A node's namespace is ``node:<task id>`` per nesting level (joined by ``|``); the task ids
    change when a step re-runs from an older checkpoint, the node path does not.
    """
    return "|".join(part.split(":", 1)[0] for part in checkpoint_ns.split("|"))
