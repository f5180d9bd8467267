"""Give a conversation a history: N prior messages on the server thread and in graph state.

The messages are created through the server API (``messages.create``, alternating user and
assistant) and the same messages are written into the LangGraph thread's state as the
assistant node's update, so the next turn sees a conversation N messages long on both sides.
"""

from __future__ import annotations

from typing import Any

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

PRIOR_TEXT = "Earlier message number {index}: some conversation text to give the thread weight."


def prior_messages(count: int) -> list[BaseMessage]:
    """``count`` alternating user/assistant messages, ending with an assistant answer."""
    messages: list[BaseMessage] = []
    for index in range(count):
        text = PRIOR_TEXT.format(index=index)
        from_user = (count - index) % 2 == 0
        messages.append(HumanMessage(text) if from_user else AIMessage(text))
    return messages


def prime_thread(graph: Any, client: openai.OpenAI, config: dict[str, Any], count: int) -> str:
    """Create the server thread with ``count`` messages and store them in the graph's state."""
    messages = prior_messages(count)
    thread = client.beta.threads.create()
    for message in messages:
        role = "user" if isinstance(message, HumanMessage) else "assistant"
        client.beta.threads.messages.create(thread.id, role=role, content=str(message.content))
    graph.update_state(
        config, {"messages": messages, "assistant_thread_id": thread.id}, as_node="assistant"
    )
    return thread.id
