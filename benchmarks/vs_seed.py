"""Against the seed loop: our graph's wall time ÷ the seed's ``execute_agent`` loop.

Same server, same scripted three-call conversation, L = 100 ms. The seed side is the stock
runnable with upstream defaults (``check_every_ms=1000``); target ratio <= 0.15.
"""

from __future__ import annotations

from assistant_graph.graph import build_graph
from assistant_graph.tools import default_tools
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.figure import Figure, at_most
from benchmarks.harness import (
    MODEL_CALLS_PER_CONVERSATION,
    Options,
    check_graph_answer,
    graph_context,
    median,
    new_thread_config,
    question,
    rounded,
    scripted_server,
    timed,
)
from benchmarks.seed_loop import seed_agent, seed_conversation

NAME = "vs_seed"
LATENCY_MS = 100.0
TARGET = 0.15


def measure(options: Options) -> Figure:
    """Run the figure."""
    reps = options.reps(5, 1)
    tools = default_tools()
    with scripted_server(LATENCY_MS) as server:
        context = graph_context(server)
        graph = build_graph(checkpointer=InMemorySaver(), tools=tools)
        agent = seed_agent(server, tools)

        def graph_once() -> None:
            check_graph_answer(graph.invoke(question(), new_thread_config(), context=context))

        def seed_once() -> None:
            seed_conversation(agent, tools)

        graph_once()
        graph_times: list[float] = []
        seed_times: list[float] = []
        for _ in range(reps):  # interleaved, so drift on a shared machine hits both sides
            graph_times.append(timed(graph_once)[0])
            seed_times.append(timed(seed_once)[0])

    ratio = median(graph_times) / median(seed_times)
    target, holds = at_most(ratio, TARGET)
    model_seconds = MODEL_CALLS_PER_CONVERSATION * LATENCY_MS / 1000
    return Figure(
        name=NAME,
        title="vs. seed loop: graph wall / seed execute_agent wall, L=100ms",
        value=rounded(ratio, 3),
        unit="x",
        target=target,
        holds=holds,
        details={
            "latency_ms": LATENCY_MS,
            "repetitions": reps,
            "graph_wall_median_s": rounded(median(graph_times)),
            "seed_wall_median_s": rounded(median(seed_times)),
            "seed_walls_s": [rounded(t) for t in seed_times],
            "seed_ratio_to_model_time": rounded(median(seed_times) / model_seconds, 3),
        },
    )
