"""``python -m benchmarks --quick`` runs every benchmark and writes all its figures as JSON.

No timing is asserted (the machine is shared): only that each benchmark produced its figures,
with the declared shape, and that values which cannot depend on speed are sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.registry import BENCHMARKS

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """The JSON document and the printed table of one ``--quick`` run (which must exit 0)."""
    out = tmp_path_factory.mktemp("bench") / "figures.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text()), proc.stdout


@pytest.mark.slow
def test_quick_run_writes_every_figure_with_sane_types(quick_run: tuple[dict, str]) -> None:
    """Every benchmark ran without error and each of its figures is well formed and printed."""
    document, table = quick_run
    assert document["quick"] is True
    assert document["errors"] == {}
    assert list(document["benchmarks"]) == list(BENCHMARKS)
    listed = [name for names in document["benchmarks"].values() for name in names]
    assert sorted(listed) == sorted(document["figures"])
    for benchmark, names in document["benchmarks"].items():
        assert names, f"{benchmark} produced no figure"
        for name in names:
            figure = document["figures"][name]
            assert name.startswith(benchmark) and figure["name"] == name
            assert isinstance(figure["value"], float | int) and figure["value"] > 0, figure
            assert figure["title"] in table
            assert isinstance(figure["details"], dict) and figure["details"]
            assert set(figure["shown"]) <= set(figure["details"]), figure
            if figure["target"]:
                assert isinstance(figure["holds"], bool), figure
            else:
                assert figure["holds"] is None, figure


@pytest.mark.slow
def test_quick_run_compares_with_the_prebuilt_agent(quick_run: tuple[dict, str]) -> None:
    """Wall, first-token and CPU ratios exist for every latency, against the prebuilt agent,
    and a conversation's first answer token never comes after its end."""
    figures = quick_run[0]["figures"]
    latencies = {f["details"]["latency_ms"] for n, f in figures.items() if n.startswith("vs_pre")}
    assert len(latencies) >= 2 and 0 in latencies
    for latency in latencies:
        wall = figures[f"vs_prebuilt_wall_L{latency:g}"]["details"]
        first = figures[f"vs_prebuilt_first_token_L{latency:g}"]["details"]
        assert figures[f"vs_prebuilt_cpu_L{latency:g}"]["unit"] == "x"
        assert "create_react_agent" in wall["prebuilt"] or "create_agent" in wall["prebuilt"]
        for agent in ("graph", "prebuilt"):
            for first_ms, wall_ms in zip(first[f"{agent}_ms"], wall[f"{agent}_ms"], strict=True):
                assert first_ms <= wall_ms
        concurrency = figures[f"concurrency_L{latency:g}"]["details"]
        for agent in ("graph", "prebuilt"):
            assert concurrency[f"{agent}_p50_s"] <= concurrency[f"{agent}_p95_s"]
            assert concurrency[f"{agent}_conversations_per_s"] > 0


@pytest.mark.slow
def test_quick_run_sizes_and_memory_are_sane(quick_run: tuple[dict, str]) -> None:
    """Speed-independent figures: checkpoint steps per turn, start-up parts, peak memory,
    the interpreter's percentiles and an idle session's memory."""
    figures = quick_run[0]["figures"]
    assert figures["checkpoint_cost"]["details"]["at_5"]["steps"] >= 5, (
        "a two-tool-round turn writes a checkpoint for each of its five node steps at least"
    )
    startup = figures["startup_import"]["details"]
    assert startup["graph_import_s"] > 0 and startup["baseline_import_s"] > 0
    assert figures["startup_cli_help"]["target"] == "< 0.5"
    memory = figures["memory"]
    assert memory["value"] >= memory["details"]["peak_rss_before_batch_mib"]
    assert memory["details"]["prebuilt_peak_rss_mib"] > 0
    interpreter = figures["interpreter_start"]["details"]
    assert interpreter["p95_s"] >= interpreter["p50_s"] > 0
    idle = figures["interpreter_idle_rss"]
    assert 0 < idle["details"]["uss_mib"] <= idle["value"], "a session's own memory is in its RSS"


def test_only_rejects_an_unknown_benchmark_name() -> None:
    """``--only`` with a name that is not a benchmark is a usage error naming the choices."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nonsense"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "vs_prebuilt" in proc.stderr and "startup" in proc.stderr
