"""Memory: peak RSS of the 32-conversation run, measured in a child process.

The child (``python -m benchmarks.memory``) starts the embedded server, builds the graph, runs
32 conversations at once (L = 100 ms) and prints its ``ru_maxrss`` before and after as JSON, so
nothing else this process did inflates the figure. Reported, no target.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys

from langgraph.checkpoint.memory import InMemorySaver

from benchmarks.concurrency import CONVERSATIONS, LATENCY_MS, QUICK_CONVERSATIONS
from benchmarks.figure import Figure
from benchmarks.harness import Options, rounded, scripted_server

NAME = "memory"
CHILD_TIMEOUT_SECONDS = 300
CHILD_FAILED = "The memory benchmark's child process failed (exit {code}): {stderr}"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(count: int) -> dict[str, float]:
    """Run the conversations in this process and return peak RSS figures (MiB)."""
    from assistant_graph.graph import Context, build_graph

    from benchmarks.concurrency import conversations_at_once

    with scripted_server(LATENCY_MS) as server:
        context = Context(base_url=server.base_url)
        graph = build_graph(checkpointer=InMemorySaver())

        async def main() -> float:
            await conversations_at_once(graph, context, 1)
            ready = _peak_rss_mib()
            await conversations_at_once(graph, context, count)
            return ready

        ready = asyncio.run(main())
    return {"peak_rss_before_batch_mib": ready, "peak_rss_mib": _peak_rss_mib()}


def measure(options: Options) -> Figure:
    """Run the figure (in a child process)."""
    count = QUICK_CONVERSATIONS if options.quick else CONVERSATIONS
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", str(count)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(CHILD_FAILED.format(code=proc.returncode, stderr=proc.stderr[-2000:]))
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = figures["peak_rss_mib"]
    return Figure(
        name=NAME,
        title=f"memory: peak RSS of the {count}-conversation run",
        value=rounded(peak, 1),
        unit="MiB",
        details={
            "conversations": count,
            "peak_rss_before_batch_mib": rounded(figures["peak_rss_before_batch_mib"], 1),
            "batch_increment_mib": rounded(peak - figures["peak_rss_before_batch_mib"], 1),
        },
    )


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))))
