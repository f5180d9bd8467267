"""Runs this process just saw reach ``requires_action`` in its own run stream.

Before submitting tool outputs the assistant node must know the run still awaits them (a step
re-run after a crash may find it already moved on). When this process streamed the run to
``requires_action`` moments ago, it already knows: the tools node ran in between, nothing else.
Such runs are remembered here, keyed by endpoint and run id, so the next step can skip the GET.

An entry is used at most once and only while fresh (younger than ``max_age_s`` and at least
``expiry_margin_s`` before the run's ``expires_at``); the cache is bounded. After a crash the
cache is empty, so a resumed step reads the run first; a step retried after its entry was taken
reads it too. If the endpoint nevertheless refuses the submit (the run changed behind this
process's back), the node reads the run and continues as a resume would.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MAX_ENTRIES = 4096
MAX_AGE_S = 30.0
EXPIRY_MARGIN_S = 60.0


class RecentRuns:
    """Bounded, thread-safe, use-once memory of runs seen in ``requires_action``."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age_s: float = MAX_AGE_S,
        expiry_margin_s: float = EXPIRY_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """Clocks are injectable for tests (``clock`` for age, ``wall_clock`` for expires_at)."""
        self.max_entries = max_entries
        self.max_age_s = max_age_s
        self.expiry_margin_s = expiry_margin_s
        self._clock = clock
        self._wall_clock = wall_clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, endpoint: str, run: Any) -> None:
        """Keep ``run`` if it is in ``requires_action`` (the oldest entry goes when full)."""
        if getattr(run, "status", None) != "requires_action":
            return
        with self._lock:
            self._entries[(endpoint, run.id)] = (self._clock(), run)
            self._entries.move_to_end((endpoint, run.id))
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def take(self, endpoint: str, run_id: str) -> Any:
        """Remove and return the run if still fresh, else None (then read it from the endpoint)."""
        with self._lock:
            entry = self._entries.pop((endpoint, run_id), None)
        if entry is None:
            return None
        seen_at, run = entry
        if self._clock() - seen_at >= self.max_age_s:
            return None
        expires_at = getattr(run, "expires_at", None)
        if expires_at and self._wall_clock() >= expires_at - self.expiry_margin_s:
            return None
        return run

    def clear(self) -> None:
        """Forget every run."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """Return how many runs are remembered."""
        return len(self._entries)


recent_runs = RecentRuns()
"""The process-wide memory used by the assistant node."""
