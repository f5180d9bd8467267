"""``python -m benchmarks --quick`` runs every figure and writes them all as JSON.

No timing is asserted (the machine is shared): only that each figure is present, has the
declared shape, and that values which cannot depend on speed are sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.registry import FIGURES

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_writes_every_figure_with_sane_types(tmp_path: Path) -> None:
    """The quick run exits 0, prints the table and writes one well-formed entry per figure."""
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads(out.read_text())
    assert document["quick"] is True
    assert document["errors"] == {}
    assert set(document["figures"]) == set(FIGURES)
    for name, figure in document["figures"].items():
        assert figure["name"] == name
        assert isinstance(figure["value"], float | int) and figure["value"] > 0, figure
        assert isinstance(figure["title"], str) and figure["title"] in proc.stdout
        assert isinstance(figure["details"], dict) and figure["details"]
        if figure["target"] and figure["target"] != "report":
            assert isinstance(figure["holds"], bool), figure
        else:
            assert figure["holds"] is None, figure
    figures = document["figures"]
    assert figures["checkpoint_cost"]["details"]["at_5"]["steps"] >= 5, (
        "a two-tool-round turn writes a checkpoint for each of its five node steps at least"
    )
    throughput = figures["throughput"]["details"]
    assert throughput["p50_run_latency_s"] <= throughput["p95_run_latency_s"]
    assert figures["memory"]["value"] >= figures["memory"]["details"]["peak_rss_before_batch_mib"]


def test_only_rejects_an_unknown_figure_name() -> None:
    """``--only`` with a name that is not a figure is a usage error naming the choices."""
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nonsense"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "step_overhead" in proc.stderr
