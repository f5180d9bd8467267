"""Step overhead: the graph's wall time for a two-tool-round conversation ÷ the model's time.

L = 100 ms per model call, 3 model calls: the ideal is 300 ms; target ratio <= 1.10. Measured on
the sync path (``graph.invoke``) with an in-memory checkpointer and the graph's own clients
(``Context(base_url=...)``); the async path and a SQLite checkpointer (``durability="sync"``)
are reported beside it. Timed after :data:`WARM_UP_CONVERSATIONS` conversations: a process's
first conversation provisions the assistant and opens connections, and the next few still run
slower (first-use caches, memory the process has not touched yet) than the steady state the
target is about.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from assistant_graph.graph import Context, build_graph
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from benchmarks.figure import Figure, at_most
from benchmarks.harness import (
    MODEL_CALLS_PER_CONVERSATION,
    Options,
    check_graph_answer,
    median,
    new_thread_config,
    question,
    rounded,
    scripted_server,
    timed,
)

NAME = "step_overhead"
LATENCY_MS = 100.0
TARGET = 1.10
WARM_UP_CONVERSATIONS = 10


def measure(options: Options) -> Figure:
    """Run the figure."""
    reps = options.reps(11, 2)
    model_seconds = MODEL_CALLS_PER_CONVERSATION * LATENCY_MS / 1000
    with scripted_server(LATENCY_MS) as server, tempfile.TemporaryDirectory() as tmp:
        context = Context(base_url=server.base_url)
        graph = build_graph(checkpointer=InMemorySaver())

        def once() -> None:
            result = graph.invoke(question(), new_thread_config(), context=context)
            check_graph_answer(result)

        for _ in range(options.reps(WARM_UP_CONVERSATIONS, 1)):
            once()
        sync_times = [timed(once)[0] for _ in range(reps)]

        async def async_times() -> list[float]:
            out = []
            for _ in range(reps + 1):
                loop = asyncio.get_running_loop()
                start = loop.time()
                result = await graph.ainvoke(question(), new_thread_config(), context=context)
                out.append(loop.time() - start)
                check_graph_answer(result)
            return out[1:]

        async_list = asyncio.run(async_times())

        with SqliteSaver.from_conn_string(str(Path(tmp) / "checkpoints.sqlite")) as saver:
            durable = build_graph(checkpointer=saver)

            def durable_once() -> None:
                result = durable.invoke(
                    question(), new_thread_config(), context=context, durability="sync"
                )
                check_graph_answer(result)

            durable_once()
            sqlite_times = [timed(durable_once)[0] for _ in range(reps)]

    wall = median(sync_times)
    ratio = wall / model_seconds
    target, holds = at_most(ratio, TARGET)
    return Figure(
        name=NAME,
        title="step overhead: graph wall / (3 x L), L=100ms",
        value=rounded(ratio, 3),
        unit="x",
        target=target,
        holds=holds,
        details={
            "latency_ms": LATENCY_MS,
            "model_seconds": model_seconds,
            "repetitions": reps,
            "warm_up_conversations": options.reps(WARM_UP_CONVERSATIONS, 1),
            "sync_wall_median_s": rounded(wall),
            "sync_walls_s": [rounded(t) for t in sync_times],
            "async_wall_median_s": rounded(median(async_list)),
            "async_ratio": rounded(median(async_list) / model_seconds, 3),
            "sqlite_sync_durability_wall_median_s": rounded(median(sqlite_times)),
            "sqlite_sync_durability_ratio": rounded(median(sqlite_times) / model_seconds, 3),
        },
    )
