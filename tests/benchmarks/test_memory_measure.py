"""The memory benchmark reads a child process's own peak memory, not its parent's.

Linux keeps ``ru_maxrss`` across ``exec``: a child started by a big process reports at least
the parent's size. The benchmark's children must report their own high-water mark.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PARENT_MIB = 400


def test_a_child_reports_its_own_peak_not_its_big_parents() -> None:
    """With 400 MiB held by this process, a small child measures well under 400 MiB."""
    ballast = bytearray(PARENT_MIB * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touch every page: resident
    proc = subprocess.run(
        [sys.executable, "-c", "from benchmarks.memory import peak_rss_mib; print(peak_rss_mib())"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    child_mib = float(proc.stdout.strip().splitlines()[-1])
    assert 0 < child_mib < PARENT_MIB / 2, child_mib
    del ballast
