"""``python -m benchmarks``: run the figures, print the table, write the JSON."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.figure import Figure
from benchmarks.harness import Options
from benchmarks.registry import BENCHMARKS, measurer
from benchmarks.table import render

DEFAULT_JSON = Path(__file__).parent / "results" / "latest.json"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="smoke test: few reps, small sizes")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the figures as JSON (default: {DEFAULT_JSON})",
    )
    return parser.parse_args(argv)


def run(
    names: Sequence[str], options: Options
) -> tuple[list[Figure], dict[str, list[str]], dict[str, str]]:
    """Measure ``names`` in order; a benchmark that fails is reported and the others still run.

    Returns the figures, the names of each benchmark's figures, and the errors.
    """
    figures: list[Figure] = []
    produced: dict[str, list[str]] = {}
    errors: dict[str, str] = {}
    for name in names:
        started = time.perf_counter()
        print(f"[benchmarks] {name} ...", file=sys.stderr, flush=True)
        try:
            measured = measurer(name)(options)
            figures.extend(measured)
            produced[name] = [figure.name for figure in measured]
        except Exception as exc:
            traceback.print_exc()
            errors[name] = f"{type(exc).__name__}: {exc}"
        print(
            f"[benchmarks] {name} done in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
            flush=True,
        )
    return figures, produced, errors


def report(
    figures: list[Figure],
    produced: dict[str, list[str]],
    errors: dict[str, str],
    options: Options,
) -> dict[str, Any]:
    """The JSON document."""
    return {
        "quick": options.quick,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "benchmarks": produced,
        "figures": {f.name: f.to_json() for f in figures},
        "errors": errors,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (1 when a benchmark failed)."""
    args = parse_args(argv)
    options = Options(quick=args.quick)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    figures, produced, errors = run(names, options)
    print(render(figures))
    for name, error in errors.items():
        print(f"FAILED {name}: {error}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report(figures, produced, errors, options), indent=2) + "\n")
    print(f"figures written to {args.json}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
