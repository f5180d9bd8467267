"""Memory: peak RSS of a 32-conversation run, the graph's and the prebuilt agent's.

For each agent a child process (``python -m benchmarks.memory AGENT PORT COUNT``) builds the
agent of :mod:`benchmarks.contenders` on the fake Chat Completions endpoint (L = 300 ms; the
graph with its embedded server in the same process), runs one conversation, then 32 at once, and
prints its peak RSS (``VmHWM``) before and after the batch as JSON, so nothing else this process
did inflates the figure. The two children run side by side (peak memory does not depend on
speed). The value is the graph's peak; the prebuilt agent's peak and the ratio are reported
beside it. No target.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import subprocess
import sys
from pathlib import Path

from benchmarks.contenders import GRAPH, PREBUILT, contenders, gather_conversations
from benchmarks.fake_chat_endpoint import FakeChatEndpoint, fake_chat_endpoint
from benchmarks.figure import Figure
from benchmarks.harness import Options, WrongAnswerError, rounded

NAME = "memory"
LATENCY_MS = 300.0
CONVERSATIONS = 32
QUICK_CONVERSATIONS = 8
CHILD_TIMEOUT_SECONDS = 300
CHILD_FAILED = "The memory benchmark's child process failed (exit {code}): {stderr}"


def peak_rss_mib() -> float:
    """Peak RSS of this process: ``VmHWM`` on Linux, else ``ru_maxrss``.

    ``ru_maxrss`` survives ``exec``: in a child it starts at the parent's size at fork time,
    so where ``/proc`` exists the high-water mark of this process's own memory is read instead.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(agent: str, port: int, count: int) -> dict[str, float]:
    """Run the conversations of ``agent`` in this process; peak RSS figures (MiB)."""
    endpoint = FakeChatEndpoint.running_at(port)
    with contenders(endpoint, LATENCY_MS, only=agent) as both:
        ready = peak_rss_mib()
        _, _, wrong = asyncio.run(gather_conversations(both[agent], count))
    if wrong:
        raise WrongAnswerError(wrong[0])
    return {"peak_rss_before_batch_mib": ready, "peak_rss_mib": peak_rss_mib()}


def _children(endpoint: FakeChatEndpoint, count: int) -> dict[str, dict[str, float]]:
    """Both agents' figures, each from its own child process (the two run side by side)."""
    processes = {
        agent: subprocess.Popen(
            [sys.executable, "-m", "benchmarks.memory", agent, str(endpoint.port), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for agent in (GRAPH, PREBUILT)
    }
    results = {}
    try:
        for agent, process in processes.items():
            stdout, stderr = process.communicate(timeout=CHILD_TIMEOUT_SECONDS)
            if process.returncode != 0:
                code = process.returncode
                raise RuntimeError(CHILD_FAILED.format(code=code, stderr=stderr[-2000:]))
            results[agent] = json.loads(stdout.strip().splitlines()[-1])
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def measure(options: Options) -> Figure:
    """Run the figure (in two child processes)."""
    count = QUICK_CONVERSATIONS if options.quick else CONVERSATIONS
    with fake_chat_endpoint() as endpoint:
        measured = _children(endpoint, count)
    graph, prebuilt = measured[GRAPH], measured[PREBUILT]
    peak = graph["peak_rss_mib"]
    return Figure(
        name=NAME,
        title=f"memory: peak RSS of {count} conversations at once (graph + embedded server)",
        value=rounded(peak, 1),
        unit="MiB",
        details={
            "conversations": count,
            "latency_ms": LATENCY_MS,
            "peak_rss_before_batch_mib": rounded(graph["peak_rss_before_batch_mib"], 1),
            "batch_increment_mib": rounded(peak - graph["peak_rss_before_batch_mib"], 1),
            "prebuilt_peak_rss_mib": rounded(prebuilt["peak_rss_mib"], 1),
            "prebuilt_batch_increment_mib": rounded(
                prebuilt["peak_rss_mib"] - prebuilt["peak_rss_before_batch_mib"], 1
            ),
            "ratio_to_prebuilt": rounded(peak / prebuilt["peak_rss_mib"], 3),
        },
        shown=("batch_increment_mib", "prebuilt_peak_rss_mib", "ratio_to_prebuilt"),
    )


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))))
