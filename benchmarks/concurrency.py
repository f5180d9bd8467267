"""Concurrency: 32 conversations at once on one embedded server ÷ one conversation (L = 100 ms).

32 distinct LangGraph threads through ``asyncio.gather(graph.ainvoke(...))``; the single
conversation is timed on the same event loop, same graph. Target <= 3.
"""

from __future__ import annotations

import asyncio

from assistant_graph.graph import Context, build_graph
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.figure import Figure, at_most
from benchmarks.harness import (
    Options,
    check_graph_answer,
    median,
    new_thread_config,
    question,
    rounded,
    scripted_server,
)

NAME = "concurrency"
LATENCY_MS = 100.0
CONVERSATIONS = 32
QUICK_CONVERSATIONS = 8
TARGET = 3.0


async def conversations_at_once(graph, context: Context, count: int) -> float:
    """Wall seconds of ``count`` conversations started together (each checked)."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await asyncio.gather(
        *(graph.ainvoke(question(), new_thread_config(), context=context) for _ in range(count))
    )
    wall = loop.time() - start
    for result in results:
        check_graph_answer(result)
    return wall


def measure(options: Options) -> Figure:
    """Run the figure."""
    reps = options.reps(3, 1)
    count = QUICK_CONVERSATIONS if options.quick else CONVERSATIONS
    with scripted_server(LATENCY_MS) as server:
        context = Context(base_url=server.base_url)
        graph = build_graph(checkpointer=InMemorySaver())

        async def main() -> tuple[list[float], list[float]]:
            await conversations_at_once(graph, context, 2)  # warm-up
            singles, batches = [], []
            for _ in range(reps):
                singles.append(await conversations_at_once(graph, context, 1))
                batches.append(await conversations_at_once(graph, context, count))
            return singles, batches

        singles, batches = asyncio.run(main())

    ratio = median(batches) / median(singles)
    target, holds = at_most(ratio, TARGET)
    return Figure(
        name=NAME,
        title=f"concurrency: {count} conversations at once / one, L=100ms",
        value=rounded(ratio, 3),
        unit="x",
        target=target,
        holds=holds,
        details={
            "latency_ms": LATENCY_MS,
            "conversations": count,
            "repetitions": reps,
            "single_wall_median_s": rounded(median(singles)),
            "batch_wall_median_s": rounded(median(batches)),
            "batch_walls_s": [rounded(t) for t in batches],
        },
    )
