"""Thread length (agent loop): one turn on an Assistants thread of 500 prior messages ÷ of 5, L = 0.

This is the figure of the agent loop's dependence on the length of the *Assistants* thread
(the seed loop re-reads the whole thread after every run): the prior messages live only in the
server's thread, created quickly through the API (``messages.create``, alternating user and
assistant roles). Each timed turn runs on a fresh LangGraph thread that continues that
Assistants thread (``assistant_thread_id`` set once with ``update_state`` before timing), so
the graph's own state holds only the current conversation and LangGraph's checkpointer does no
length-dependent work: what is measured is the assistant node plus the server. Turns alternate
between the short and the long thread so drift hits both; each turn adds its question and answer
to the Assistants thread (the lengths at the end are reported). Target <= 1.2.

LangGraph's cost of carrying a long conversation in its own state is the separate figure
:mod:`benchmarks.thread_length_state`.
"""

from __future__ import annotations

from typing import Any

from assistant_graph.graph import build_graph
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.figure import Figure, at_most
from benchmarks.harness import (
    Options,
    check_graph_answer,
    graph_context,
    median,
    new_thread_config,
    question,
    rounded,
    scripted_server,
    sync_client,
    timed,
)

NAME = "thread_length"
SHORT = 5
LONG = 500
QUICK_LONG = 40
TARGET = 1.2


def assistants_thread_with(client: Any, count: int) -> str:
    """Create an Assistants thread holding ``count`` messages (alternating roles); its id."""
    thread = client.beta.threads.create()
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        client.beta.threads.messages.create(
            thread.id, role=role, content=f"Prior message {index} of this conversation."
        )
    return str(thread.id)


def continuing(graph: Any, assistant_thread_id: str) -> dict[str, Any]:
    """A fresh LangGraph thread's config whose state continues ``assistant_thread_id``."""
    config = new_thread_config()
    graph.update_state(config, {"assistant_thread_id": assistant_thread_id}, as_node="tools")
    return config


def measure(options: Options) -> Figure:
    """Run the figure."""
    reps = options.reps(21, 1)
    long = QUICK_LONG if options.quick else LONG
    with scripted_server(0.0) as server:
        context = graph_context(server)
        graph = build_graph(checkpointer=InMemorySaver())
        with sync_client(server) as client:
            short_thread = assistants_thread_with(client, SHORT)
            long_thread = assistants_thread_with(client, long)

            def turn(config: dict[str, Any]) -> int:
                result = graph.invoke(question(), config, context=context)
                check_graph_answer(result)
                return len(result["messages"])

            turn(new_thread_config())  # warm-up
            short_times: list[float] = []
            long_times: list[float] = []
            state_lengths: set[int] = set()
            for _ in range(reps):
                for thread_id, times in ((short_thread, short_times), (long_thread, long_times)):
                    config = continuing(graph, thread_id)
                    seconds, length = timed(lambda config=config: turn(config))
                    times.append(seconds)
                    state_lengths.add(length)
            final_long = len(list(client.beta.threads.messages.list(long_thread, limit=100)))

    ratio = median(long_times) / median(short_times)
    target, holds = at_most(ratio, TARGET)
    return Figure(
        name=NAME,
        title=f"thread length (agent loop): Assistants thread of {long} msgs / {SHORT}, L=0",
        value=rounded(ratio, 3),
        unit="x",
        target=target,
        holds=holds,
        details={
            "variant": (
                "prior messages only in the Assistants thread; each turn's LangGraph state "
                "holds only the current conversation (assistant node + server)"
            ),
            "prior_messages_short": SHORT,
            "prior_messages_long": long,
            "assistants_messages_long_at_end": final_long,
            "langgraph_state_messages_per_turn": sorted(state_lengths),
            "repetitions": reps,
            "short_turn_median_s": rounded(median(short_times)),
            "long_turn_median_s": rounded(median(long_times)),
        },
    )
