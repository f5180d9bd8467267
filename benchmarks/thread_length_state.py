"""Thread length (with LangGraph state): one turn after 500 prior messages ÷ after 5, L = 0.

The prior messages live in both the Assistants thread and the LangGraph state (an
``InMemorySaver`` graph), as in an app that keeps one LangGraph thread for a long conversation.
LangGraph's checkpointer (de)serialises the whole message list at every step (loaded at the
start of each invoke, written after each node), so this ratio includes that cost, which grows
with the length and is LangGraph's, not the agent loop's: reported, no target. The agent loop's
own figure is :mod:`benchmarks.thread_length` (target <= 1.2).

Both turns are the same three-call conversation on a thread primed with prior turns of it (six
messages each, so the lengths are 6 and 504); turns alternate between the two threads so drift
hits both. Each turn adds six messages, so the lengths grow slightly over the repetitions
(reported).
"""

from __future__ import annotations

from assistant_graph.graph import build_graph
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.figure import Figure
from benchmarks.harness import (
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
from benchmarks.priming import prime_thread

NAME = "thread_length_state"
SHORT = 5
LONG = 500
QUICK_LONG = 40


def measure(options: Options) -> Figure:
    """Run the figure."""
    reps = options.reps(7, 1)
    long = QUICK_LONG if options.quick else LONG
    with scripted_server(0.0) as server:
        context = graph_context(server)
        graph = build_graph(checkpointer=InMemorySaver())
        short_config, long_config = new_thread_config(), new_thread_config()
        short_length = prime_thread(graph, short_config, SHORT, context=context)
        long_length = prime_thread(graph, long_config, long, context=context)

        def turn(config: dict) -> None:
            check_graph_answer(graph.invoke(question(), config, context=context))

        turn(new_thread_config())  # warm-up
        short_times: list[float] = []
        long_times: list[float] = []
        for _ in range(reps):
            short_times.append(timed(lambda: turn(short_config))[0])
            long_times.append(timed(lambda: turn(long_config))[0])
        final_long = len(graph.get_state(long_config).values["messages"])

    ratio = median(long_times) / median(short_times)
    return Figure(
        name=NAME,
        title=(f"thread length (with LangGraph state): {long} msgs in both / {SHORT}, L=0"),
        value=rounded(ratio, 3),
        unit="x",
        details={
            "variant": (
                "prior messages in the Assistants thread and in the LangGraph state "
                "(InMemorySaver): the checkpointer (de)serialises the whole message list "
                "at every step"
            ),
            "prior_messages_short": short_length,
            "prior_messages_long": long_length,
            "messages_long_at_end": final_long,
            "repetitions": reps,
            "short_turn_median_s": rounded(median(short_times)),
            "long_turn_median_s": rounded(median(long_times)),
        },
    )
