"""Start-up: ``assistant-graph --help`` wall time, and importing the graph module vs. its parts.

Each measurement runs in a fresh Python process (nothing imported, no warm module caches of
this process), in a temporary working directory, several times; the figures are medians.

* ``assistant-graph --help``: wall time of the whole command (interpreter start included), as a
  user sees it. Target < 0.5 s.
* Import: seconds of ``from assistant_graph.graph import graph`` inside the child (the package
  imports lazily, so this is what a first use costs: every module the graph needs, and the
  default graph compiled — what ``langgraph dev`` loads) ÷ seconds of
  ``import langgraph.graph`` plus importing langchain_community's ``OpenAIAssistantV2Runnable``
  (the two libraries the graph is made of), measured the same way; the two kinds of child
  alternate. Target <= 1.2. CPU seconds of both imports, and their ratio, are reported beside
  it (on a busy machine the CPU ratio is the steadier of the two).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figure import Figure, at_most, below
from benchmarks.harness import Options, median, rounded

NAME = "startup"
HELP_TARGET_S = 0.5
IMPORT_TARGET = 1.2
CHILD_TIMEOUT_SECONDS = 120
GRAPH_IMPORT = "from assistant_graph.graph import graph"
BASELINE_IMPORT = (
    "import langgraph.graph\n"
    "from langchain_community.agents.openai_assistant.base import OpenAIAssistantV2Runnable"
)
TIMER = """
import json, time
wall, cpu = time.perf_counter(), time.process_time()
{statement}
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""
NO_CLI = (
    "The `assistant-graph` command was not found next to {python} or on PATH; install the "
    "package (`pip install -e .`) in the environment that runs the benchmarks."
)
CHILD_FAILED = "A start-up child process failed (exit {code}): {stderr}"


def _run(command: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore::DeprecationWarning"},
    )
    if proc.returncode != 0:
        raise RuntimeError(CHILD_FAILED.format(code=proc.returncode, stderr=proc.stderr[-2000:]))
    return proc


def import_seconds(statement: str, cwd: str) -> tuple[float, float]:
    """(wall, CPU) seconds of ``statement`` in a fresh interpreter."""
    proc = _run([sys.executable, "-c", TIMER.format(statement=statement)], cwd)
    wall, cpu = json.loads(proc.stdout.strip().splitlines()[-1])
    return wall, cpu


def cli_command() -> str:
    """Path of the ``assistant-graph`` console script of this environment."""
    beside = Path(sys.executable).with_name("assistant-graph")
    found = str(beside) if beside.exists() else shutil.which("assistant-graph")
    if not found:
        raise RuntimeError(NO_CLI.format(python=sys.executable))
    return found


def help_seconds(command: str, cwd: str) -> float:
    """Wall seconds of ``assistant-graph --help``."""
    start = time.perf_counter()
    proc = _run([command, "--help"], cwd)
    seconds = time.perf_counter() - start
    if "usage" not in proc.stdout.lower():
        raise RuntimeError(CHILD_FAILED.format(code=0, stderr=f"no usage text: {proc.stdout!r}"))
    return seconds


def measure(options: Options) -> list[Figure]:
    """Run the two figures."""
    reps = options.reps(7, 1)
    command = cli_command()
    helps: list[float] = []
    graph: list[tuple[float, float]] = []
    baseline: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cwd:
        for _ in range(reps):
            helps.append(help_seconds(command, cwd))
            graph.append(import_seconds(GRAPH_IMPORT, cwd))
            baseline.append(import_seconds(BASELINE_IMPORT, cwd))
    help_median = median(helps)
    help_target, help_holds = below(help_median, HELP_TARGET_S)
    graph_wall, baseline_wall = median([g[0] for g in graph]), median([b[0] for b in baseline])
    graph_cpu, baseline_cpu = median([g[1] for g in graph]), median([b[1] for b in baseline])
    ratio = graph_wall / baseline_wall
    import_target, import_holds = at_most(ratio, IMPORT_TARGET)
    return [
        Figure(
            name=f"{NAME}_cli_help",
            title="start-up: `assistant-graph --help` wall time",
            value=rounded(help_median, 3),
            unit="s",
            target=help_target,
            holds=help_holds,
            details={"repetitions": reps, "walls_s": [rounded(t, 3) for t in helps]},
            shown=("walls_s",),
        ),
        Figure(
            name=f"{NAME}_import",
            title="start-up: first use of the graph / import langgraph.graph + V2 runnable",
            value=rounded(ratio, 3),
            unit="x",
            target=import_target,
            holds=import_holds,
            details={
                "repetitions": reps,
                "graph_import_s": rounded(graph_wall, 3),
                "baseline_import_s": rounded(baseline_wall, 3),
                "graph_import_cpu_s": rounded(graph_cpu, 3),
                "baseline_import_cpu_s": rounded(baseline_cpu, 3),
                "cpu_ratio": rounded(graph_cpu / baseline_cpu, 3),
                "graph_statement": GRAPH_IMPORT,
                "baseline_statement": BASELINE_IMPORT,
            },
            shown=("graph_import_s", "baseline_import_s", "cpu_ratio"),
        ),
    ]
