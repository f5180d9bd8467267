"""``python -m benchmarks.scaling --quick`` against the suite's PostgreSQL: every figure is
produced, and the kill trial loses no run and executes none twice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_scaling_quick_run_loses_no_run_and_duplicates_none(postgres_server, tmp_path):
    """All rates are positive; killing one of two servers mid-load loses nothing."""
    out = tmp_path / "scaling.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.scaling", "--quick", "--postgres-url",
         postgres_server.url, "--json", str(out)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    for name in ("sqlite_1_process", "postgres_1_processes", "postgres_2_processes",
                 "postgres_4_processes"):  # fmt: skip
        assert figures[f"{name}_runs_per_s"] > 0
    trial = figures["kill_trial"]
    assert trial["distinct_runs"] == trial["runs"] == trial["runs_in_database"]
    assert trial["lost"] == 0
    assert trial["executed_twice"] == 0
