"""32 conversations at once: the graph's conversations per second ÷ the prebuilt agent's.

Both agents of :mod:`benchmarks.contenders` on the same fake Chat Completions endpoint, at
L = 0, 300 and 1000 ms per model call. A batch is 32 conversations on fresh threads started
together with ``asyncio.gather(agent.ainvoke(...))`` in one event loop; the agents' batches
alternate (graph first on even repetitions), after one warm-up batch each. Throughput is
conversations ÷ the batch's wall time; the figure is the graph's median throughput ÷ the
prebuilt agent's (above 1: the graph completes more). The p50/p95 conversation latency inside a
batch and the CPU per conversation under load are reported beside it, and so is the number of
conversations that did not end with the scripted answer (the target is none). Everything on the
graph's side (graph, embedded server) shares one process and its GIL, as does the prebuilt agent.
"""

from __future__ import annotations

import asyncio
import sys
import time

from benchmarks.contenders import GRAPH, PREBUILT, Contender, contenders, gather_conversations
from benchmarks.fake_chat_endpoint import fake_chat_endpoint
from benchmarks.figure import Figure
from benchmarks.harness import Options, median, percentile, rounded

NAME = "concurrency"
CONVERSATIONS = 32
QUICK_CONVERSATIONS = 8
LATENCIES_MS = (0.0, 300.0, 1000.0)
QUICK_LATENCIES_MS = (0.0, 100.0)
WARM_UP_CONVERSATIONS = 4
RIGHT_ANSWERS = "every answer right"
"""The figure's target: the ratio is reported; every conversation must reach the answer."""


class Batches:
    """The batches of one agent: wall times, conversation latencies, CPU seconds."""

    def __init__(self) -> None:
        self.walls: list[float] = []
        self.latencies: list[float] = []
        self.cpu: list[float] = []
        self.wrong: list[str] = []
        """What went wrong in each conversation whose answer was wrong."""

    async def run(self, contender: Contender, count: int) -> None:
        """Run and record one batch of ``count`` conversations."""
        cpu_start = time.process_time()
        wall, latencies, wrong = await gather_conversations(contender, count)
        self.cpu.append(time.process_time() - cpu_start)
        self.walls.append(wall)
        self.latencies.extend(latencies)
        self.wrong.extend(wrong)
        for problem in wrong:
            print(f"[benchmarks] {NAME}: {problem}", file=sys.stderr, flush=True)


async def measure_latency(both: dict[str, Contender], count: int, reps: int) -> dict[str, Batches]:
    """Warm-up then ``reps`` alternating batches per agent."""
    for contender in both.values():
        await gather_conversations(contender, WARM_UP_CONVERSATIONS)
    batches = {GRAPH: Batches(), PREBUILT: Batches()}
    for index in range(reps):
        order = (GRAPH, PREBUILT) if index % 2 == 0 else (PREBUILT, GRAPH)
        for name in order:
            await batches[name].run(both[name], count)
    return batches


def throughput_figure(
    latency_ms: float, count: int, batches: dict[str, Batches], factory: str
) -> Figure:
    """The figure of one latency."""
    rate = {name: count / median(b.walls) for name, b in batches.items()}
    details: dict[str, object] = {
        "latency_ms": latency_ms,
        "conversations": count,
        "repetitions": len(batches[GRAPH].walls),
        "prebuilt": factory,
    }
    for name, agent in batches.items():
        details |= {
            f"{name}_conversations_per_s": rounded(rate[name], 2),
            f"{name}_batch_walls_s": [rounded(w, 3) for w in agent.walls],
            f"{name}_p50_s": rounded(median(agent.latencies), 3),
            f"{name}_p95_s": rounded(percentile(agent.latencies, 0.95), 3),
            f"{name}_cpu_ms_per_conversation": rounded(median(agent.cpu) / count * 1000, 1),
            f"{name}_wrong_answers": len(agent.wrong),
        }
    wrong = sum(len(agent.wrong) for agent in batches.values())
    return Figure(
        name=f"{NAME}_L{latency_ms:g}",
        title=f"{count} at once: graph conv/s / prebuilt conv/s, L={latency_ms:g}ms",
        value=rounded(rate[GRAPH] / rate[PREBUILT], 3),
        unit="x",
        target=RIGHT_ANSWERS,
        holds=wrong == 0,
        details=details,
        shown=(
            "graph_conversations_per_s",
            "prebuilt_conversations_per_s",
            "graph_p95_s",
            "prebuilt_p95_s",
            "graph_wrong_answers",
            "prebuilt_wrong_answers",
        ),
    )


def measure(options: Options) -> list[Figure]:
    """Run the figures (one per latency)."""
    count = QUICK_CONVERSATIONS if options.quick else CONVERSATIONS
    reps = options.reps(5, 1)
    figures = []
    with fake_chat_endpoint() as endpoint:
        for latency_ms in QUICK_LATENCIES_MS if options.quick else LATENCIES_MS:
            with contenders(endpoint, latency_ms) as both:
                batches = asyncio.run(measure_latency(both, count, reps))
                factory = both[PREBUILT].factory
            figures.append(throughput_figure(latency_ms, count, batches, factory))
    return figures
