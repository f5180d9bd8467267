"""Where to go after the assistant node: a person's review, the tools, or the end of the turn.

The router reads the invocation's context from the graph runtime (``get_runtime()``). Code that
writes state without running the graph — ``graph.update_state(config, values,
as_node="assistant")``, forks, LangGraph Studio's state editing — routes with no runtime. Then
tool calls are routed as the last assistant step's were (``State.review_tool_calls``, kept from
that step's context) or by ``ASSISTANT_INTERRUPT_BEFORE_TOOLS``: an edit neither skips a review
the conversation asked for nor adds one it did not (a second pause would also stack on a static
``interrupt_before=["tools"]``).
"""

from __future__ import annotations

from typing import Literal

from assistant_graph.graph.context import Context, context_of
from assistant_graph.graph.state import State
from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime, get_runtime

Route = Literal["human_review", "tools", "__end__"]


def current_runtime() -> Runtime[Context] | None:
    """Return the running step's graph runtime, or None (``update_state``, a direct call)."""
    try:
        return get_runtime(Context)
    except RuntimeError:  # called outside any runnable
        return None


def route_after_assistant(state: State) -> Route:
    """Route the assistant's last message.

    ``__end__`` for an answer; for tool calls ``human_review`` when ``interrupt_before_tools``
    is on, ``tools`` otherwise. Without a runtime (a state edit, see the module doc) the last
    assistant step's setting or the environment decides.
    """
    last = state.messages[-1] if state.messages else None
    if not (isinstance(last, AIMessage) and last.tool_calls):
        return "__end__"
    runtime = current_runtime()
    if runtime is None:
        review = state.review_tool_calls or Context().interrupt_before_tools
    else:
        review = context_of(runtime).interrupt_before_tools
    return "human_review" if review else "tools"
