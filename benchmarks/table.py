"""Render figures as a plain-text table (the same numbers as the JSON output)."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.figure import Figure

HEADERS = ("figure", "value", "target", "ok", "details")


def _ok(figure: Figure) -> str:
    if figure.holds is None:
        return "-"
    return "yes" if figure.holds else "NO"


def _details(figure: Figure) -> str:
    return ", ".join(f"{k}={figure.details[k]}" for k in figure.shown if k in figure.details)


def render(figures: Sequence[Figure]) -> str:
    """The table as text."""
    rows = [HEADERS] + [
        (f.title, f"{f.value:g} {f.unit}", f.target or "report", _ok(f), _details(f))
        for f in figures
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADERS) - 1)]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append(" | ".join(cells).rstrip())
        if index == 0:
            lines.append("-+-".join("-" * w for w in widths) + "-+-" + "-" * 7)
    return "\n".join(lines)
