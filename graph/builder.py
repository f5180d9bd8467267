"""Assemble the agent graph: assistant node ⇄ tools node, with optional checkpointer.

```
START → assistant ─(tool calls?)─ yes → [human_review →] tools → assistant …
                    └─ no → END

``human_review`` (only with ``Context.interrupt_before_tools``) pauses for a person, who
approves, edits or rejects the calls; if every call is rejected it goes straight back to the
assistant with the rejections as tool output.
```
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant_graph.graph.assistant_node import AssistantNode
from assistant_graph.graph.compiled_graph import AssistantGraph, as_assistant_graph
from assistant_graph.graph.context import Context
from assistant_graph.graph.human_review import human_review
from assistant_graph.graph.router import route_after_assistant
from assistant_graph.graph.state import InputState, OutputState, State
from assistant_graph.graph.tool_node import build_tool_node
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool
from langgraph.graph import START, StateGraph
from langgraph.runtime import get_runtime
from langgraph.types import Checkpointer

if TYPE_CHECKING:
    import openai

GRAPH_NAME = "assistant-graph"


def build_graph(
    *,
    checkpointer: Checkpointer = None,
    tools: Sequence[BaseTool] | None = None,
    builtin_tools: Sequence[dict[str, Any]] = (),
    client: openai.OpenAI | None = None,
    async_client: openai.AsyncOpenAI | None = None,
    name: str = GRAPH_NAME,
    **compile_kwargs: Any,
) -> AssistantGraph:
    """Build and compile the agent graph.

    Args:
        checkpointer: Where thread state is saved (e.g. ``SqliteSaver``); ``None`` for none
            (``langgraph dev`` brings its own). A crash resumes exactly once under any
            ``durability``.
        tools: Local tools the ToolNode runs and the assistant's functions are generated
            from (default: ``assistant_graph.tools.default_tools()``). The tools of the
            context's MCP servers file (``Context.mcp_config``) join them at each step.
        builtin_tools: Extra Assistants built-in tools (e.g. ``{"type": "code_interpreter"}``)
            added to the provisioned assistant; they run server-side.
        client: Sync ``openai.OpenAI`` client for the Assistants endpoint; overrides the
            context's endpoint (e.g. to add HTTP hooks).
        async_client: Async client for the same endpoint (used by ``ainvoke``/``astream``).
        name: Graph name.
        **compile_kwargs: Passed to ``StateGraph.compile`` (e.g. ``interrupt_before``).

    """
    if tools is None:
        from assistant_graph.tools import default_tools

        tools = default_tools()
    local_tools = list(tools)
    node = AssistantNode([*local_tools, *builtin_tools], client=client, async_client=async_client)
    builder = StateGraph(
        State, input_schema=InputState, output_schema=OutputState, context_schema=Context
    )
    builder.add_node("assistant", assistant_step(node))
    builder.add_node("human_review", human_review, destinations=("tools", "assistant"))
    builder.add_node("tools", build_tool_node(local_tools))
    builder.add_edge(START, "assistant")
    builder.add_conditional_edges("assistant", route_after_assistant)
    builder.add_edge("tools", "assistant")
    compiled = builder.compile(checkpointer=checkpointer, name=name, **compile_kwargs)
    return as_assistant_graph(compiled)


def assistant_step(node: AssistantNode) -> RunnableLambda:
    """Build the ``assistant`` node: ``node``'s sync and async step, given the graph runtime."""

    def step(state: State, config: RunnableConfig) -> dict:
        return node.invoke(state, config, get_runtime(Context))

    async def astep(state: State, config: RunnableConfig) -> dict:
        return await node.ainvoke(state, config, get_runtime(Context))

    return RunnableLambda(step, astep, name="assistant")


def prepare_assistant(
    context: Context | None = None,
    *,
    tools: Sequence[BaseTool] | None = None,
    builtin_tools: Sequence[dict[str, Any]] = (),
    client: openai.OpenAI | None = None,
) -> str:
    """Check the endpoint and provision the assistant a graph built with these tools will run.

    Returns the assistant's id. Raises what the graph's first step would
    (:class:`~graph.errors.EndpointUnreachableError`, :class:`~graph.errors.UnknownAssistantError`,
    :class:`~graph.errors.ConfigurationError`, ``openai.AuthenticationError``), but before any
    turn is saved; afterwards the graph's first step reuses the result (cached per process).
    ``context`` defaults to the environment's configuration; ``tools`` and ``builtin_tools``
    must be those given to :func:`build_graph` (default: ``assistant_graph.tools.default_tools()``).
    """
    if tools is None:
        from assistant_graph.tools import default_tools

        tools = default_tools()
    node = AssistantNode([*tools, *builtin_tools], client=client)
    return node.prepare(context)
