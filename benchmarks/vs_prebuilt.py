"""Against LangGraph's prebuilt agent: wall time, time to first answer token, CPU per conversation.

Both agents of :mod:`benchmarks.contenders` play the benchmark conversation (three model calls,
two calculator rounds) against the same fake Chat Completions endpoint, at L = 0, 300 and
1000 ms per model call. Each conversation is streamed with ``stream_mode="messages"`` on a fresh
thread, after one warm-up conversation per agent; the two agents alternate (graph first on even
repetitions, prebuilt first on odd ones) so drift on a shared machine hits both. Per latency,
three figures, each the graph's median ÷ the prebuilt agent's median:

* wall time until the stream ends;
* time to the first chunk of the answer's text;
* CPU seconds of the whole process during the conversation. The graph's includes the embedded
  server (same process); the fake endpoint runs in its own process and counts for neither.

Reported (no target): these are what a user choosing between the two would compare.
"""

from __future__ import annotations

from benchmarks.contenders import GRAPH, PREBUILT, Contender, Sample, contenders
from benchmarks.fake_chat_endpoint import fake_chat_endpoint
from benchmarks.figure import Figure
from benchmarks.harness import Options, median, rounded

NAME = "vs_prebuilt"
LATENCIES_MS = (0.0, 300.0, 1000.0)
QUICK_LATENCIES_MS = (0.0, 100.0)
REPETITIONS = {0.0: 21, 300.0: 9, 1000.0: 5}
METRICS = {
    "wall": "wall time",
    "first_token": "time to first answer token",
    "cpu": "CPU per conversation",
}


def sample_both(both: dict[str, Contender], reps: int) -> dict[str, list[Sample]]:
    """``reps`` streamed conversations per agent, alternating which goes first."""
    samples: dict[str, list[Sample]] = {GRAPH: [], PREBUILT: []}
    for index in range(reps):
        order = (GRAPH, PREBUILT) if index % 2 == 0 else (PREBUILT, GRAPH)
        for name in order:
            samples[name].append(both[name].stream_once())
    return samples


def ratio_figure(
    metric: str, latency_ms: float, samples: dict[str, list[Sample]], factory: str
) -> Figure:
    """The graph's median of ``metric`` ÷ the prebuilt agent's, at one latency."""
    per_agent = {name: [getattr(s, metric) for s in samples[name]] for name in samples}
    graph, prebuilt = median(per_agent[GRAPH]), median(per_agent[PREBUILT])
    return Figure(
        name=f"{NAME}_{metric}_L{latency_ms:g}",
        title=f"{METRICS[metric]}: graph / prebuilt agent, L={latency_ms:g}ms",
        value=rounded(graph / prebuilt, 3),
        unit="x",
        details={
            "latency_ms": latency_ms,
            "repetitions": len(per_agent[GRAPH]),
            "prebuilt": factory,
            "graph_median_ms": rounded(graph * 1000, 1),
            "prebuilt_median_ms": rounded(prebuilt * 1000, 1),
            "graph_ms": [rounded(v * 1000, 1) for v in per_agent[GRAPH]],
            "prebuilt_ms": [rounded(v * 1000, 1) for v in per_agent[PREBUILT]],
        },
        shown=("graph_median_ms", "prebuilt_median_ms"),
    )


def measure(options: Options) -> list[Figure]:
    """Run the figures: each metric at each latency."""
    measured: dict[float, tuple[dict[str, list[Sample]], str]] = {}
    latencies = QUICK_LATENCIES_MS if options.quick else LATENCIES_MS
    with fake_chat_endpoint() as endpoint:
        for latency_ms in latencies:
            with contenders(endpoint, latency_ms) as both:
                samples = sample_both(both, options.reps(REPETITIONS.get(latency_ms, 5), 1))
                measured[latency_ms] = (samples, both[PREBUILT].factory)
    return [
        ratio_figure(metric, latency_ms, samples, factory)
        for metric in METRICS
        for latency_ms, (samples, factory) in measured.items()
    ]
