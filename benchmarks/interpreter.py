"""Interpreter: start of a new sandboxed session, one warm ``print`` call, an idle session's RSS.

One :class:`~assistant_graph.assistants_server.interpreter.InterpreterPool` with the default
settings (bubblewrap sandbox) runs in this process:

* start: a call on a new session key (the kernel starts in its sandbox, then runs
  ``print(1)``), each on a fresh key, then the session ended; p50 and p95.
* warm call: ``print(1)`` on a session that is already running; p50 and p95.
* idle memory: the RSS, summed over bubblewrap and the kernel, of one session after it ran
  ``print(1)``; its USS (memory no other process shares) beside it.
No targets: the figures say what one thread's interpreter costs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import psutil
from assistant_graph.assistants_server.interpreter import InterpreterPool, InterpreterSettings

from benchmarks.figure import Figure
from benchmarks.harness import Options, WrongAnswerError, median, percentile, rounded

NAME = "interpreter"
STARTS, QUICK_STARTS = 10, 2
WARM_CALLS, QUICK_WARM_CALLS = 50, 5
MIB = 1024 * 1024


@dataclass
class Measured:
    """Seconds of each session start and warm call; RSS and USS (MiB) of one idle session."""

    starts: list[float]
    warm: list[float]
    rss_mib: float
    uss_mib: float


async def _timed_print(pool: InterpreterPool, key: str) -> float:
    started = time.perf_counter()
    result = await pool.execute(key, "print(1)")
    seconds = time.perf_counter() - started
    if result.error is not None or result.logs != "1\n":
        raise WrongAnswerError(f"interpreter call gave {result!r}")
    return seconds


def _sandbox_memory() -> tuple[float, float]:
    """RSS and USS (MiB) of every process this one started (the sandboxes)."""
    rss = uss = 0
    for process in psutil.Process().children(recursive=True):
        try:
            info = process.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        rss += info.rss
        uss += info.uss
    return rss / MIB, uss / MIB


async def _measure(options: Options) -> Measured:
    pool = InterpreterPool(InterpreterSettings())
    try:
        pool.check_available()
        starts = []
        for index in range(options.reps(STARTS, QUICK_STARTS)):
            starts.append(await _timed_print(pool, f"start-{index}"))
            await pool.end_session(f"start-{index}")
        await _timed_print(pool, "warm")
        warm = [
            await _timed_print(pool, "warm")
            for _ in range(options.reps(WARM_CALLS, QUICK_WARM_CALLS))
        ]
        rss, uss = _sandbox_memory()
    finally:
        await pool.aclose()
    return Measured(starts, warm, rss, uss)


def measure(options: Options) -> list[Figure]:
    """Run the three figures (one pool, in this process)."""
    measured = asyncio.run(_measure(options))
    starts, warm = measured.starts, measured.warm
    return [
        Figure(
            name=f"{NAME}_start",
            title="interpreter: new sandboxed session + first print, p50",
            value=rounded(median(starts), 3),
            unit="s",
            details={
                "sessions": len(starts),
                "p50_s": rounded(median(starts), 3),
                "p95_s": rounded(percentile(starts, 0.95), 3),
            },
            shown=("p95_s",),
        ),
        Figure(
            name=f"{NAME}_warm_call",
            title="interpreter: print on a running session, p50",
            value=rounded(median(warm) * 1000, 2),
            unit="ms",
            details={
                "calls": len(warm),
                "p50_ms": rounded(median(warm) * 1000, 2),
                "p95_ms": rounded(percentile(warm, 0.95) * 1000, 2),
            },
            shown=("p95_ms",),
        ),
        Figure(
            name=f"{NAME}_idle_rss",
            title="interpreter: RSS of one idle session (bwrap + kernel)",
            value=rounded(measured.rss_mib, 1),
            unit="MiB",
            details={"uss_mib": rounded(measured.uss_mib, 1)},
            shown=("uss_mib",),
        ),
    ]
