"""Give a conversation a history of at least N messages by running prior turns through the graph.

Each prior turn is the benchmark conversation (six messages: question, two tool rounds, answer),
so the server thread and the graph state hold the same, realistic history (tool calls included).
Run it against a server without artificial latency: a turn then takes a few tens of ms.
"""

from __future__ import annotations

from typing import Any

from benchmarks.harness import check_graph_answer, question


def prime_thread(graph: Any, config: dict[str, Any], count: int, **invoke_kwargs: Any) -> int:
    """Run turns on ``config``'s thread until it holds ``count`` messages; return the length."""
    length = 0
    while length < count:
        result = graph.invoke(question(), config, **invoke_kwargs)
        check_graph_answer(result)
        length = len(result["messages"])
    return length
