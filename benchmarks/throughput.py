"""Server throughput: runs completed per second at L = 0, and p50/p95 run latency.

200 three-call conversations (one run each) with at most 32 in flight: the graph through
``asyncio`` + ``graph.ainvoke``, the seed loop through 32 threads running ``execute_agent``
(its runnable is sync-only in practice). Both against the same kind of fresh server. Reported.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from assistant_graph.graph import Context, build_graph
from assistant_graph.tools import default_tools
from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.figure import Figure
from benchmarks.harness import (
    Options,
    check_graph_answer,
    median,
    new_thread_config,
    percentile,
    question,
    rounded,
    scripted_server,
)
from benchmarks.seed_loop import seed_agent, seed_conversation

NAME = "throughput"
CONVERSATIONS = 200
QUICK_CONVERSATIONS = 16
IN_FLIGHT = 32


def _graph_side(count: int) -> tuple[float, list[float]]:
    with scripted_server(0.0) as server:
        context = Context(base_url=server.base_url)
        graph = build_graph(checkpointer=InMemorySaver())

        async def main() -> tuple[float, list[float]]:
            gate = asyncio.Semaphore(IN_FLIGHT)
            loop = asyncio.get_running_loop()

            async def one() -> float:
                async with gate:
                    start = loop.time()
                    result = await graph.ainvoke(question(), new_thread_config(), context=context)
                    check_graph_answer(result)
                    return loop.time() - start

            await one()  # warm-up
            start = loop.time()
            latencies = await asyncio.gather(*(one() for _ in range(count)))
            return loop.time() - start, list(latencies)

        return asyncio.run(main())


def _seed_side(count: int) -> tuple[float, list[float]]:
    tools = default_tools()
    with scripted_server(0.0) as server:
        agent = seed_agent(server, tools)

        def one(_: int) -> float:
            start = time.perf_counter()
            seed_conversation(agent, tools)
            return time.perf_counter() - start

        one(0)
        start = time.perf_counter()
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            latencies = list(pool.map(one, range(count)))
        return time.perf_counter() - start, latencies


def measure(options: Options) -> Figure:
    """Run the figure."""
    count = QUICK_CONVERSATIONS if options.quick else CONVERSATIONS
    wall, latencies = _graph_side(count)
    seed_wall, seed_latencies = _seed_side(count)
    rate = count / wall
    seed_rate = count / seed_wall
    return Figure(
        name=NAME,
        title=f"throughput: runs/s, L=0, {count} conversations ({IN_FLIGHT} in flight)",
        value=rounded(rate, 2),
        unit="runs/s",
        details={
            "conversations": count,
            "in_flight": IN_FLIGHT,
            "wall_s": rounded(wall),
            "p50_run_latency_s": rounded(median(latencies)),
            "p95_run_latency_s": rounded(percentile(latencies, 0.95)),
            "seed_runs_per_s": rounded(seed_rate, 2),
            "seed_wall_s": rounded(seed_wall),
            "seed_p50_run_latency_s": rounded(median(seed_latencies)),
            "seed_p95_run_latency_s": rounded(percentile(seed_latencies, 0.95)),
        },
    )
