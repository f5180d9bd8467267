"""The command line's live output: text as it streams, and a spinner while nothing comes.

:class:`LiveOutput` wraps standard output. The answer's tokens are written as the server
streams them; while the command waits (the model is thinking, a tool is running) and the
cursor is at the start of a line, a spinner turns on standard error, erased before the next
write. The spinner is drawn only when standard error is a terminal: piped or redirected output
gets the text and nothing else. Standard library only (imported by ``graph.cli``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, TextIO, cast

SPINNER_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
SPINNER_LABEL = "waiting for the assistant…"
SPINNER_INTERVAL_SECONDS = 0.1
SPINNER_DELAY_SECONDS = 0.2
"""Quiet time after the last write before the spinner shows (no flicker between lines)."""
ERASE_LINE = "\r\x1b[K"


class LiveOutput:
    """Standard output for a turn, with an optional spinner on a terminal's standard error.

    It is a text stream (``write``/``flush``), so ``print(..., file=out)`` works; every write
    is flushed at once, so a pipe reader sees tokens as they arrive.
    """

    def __init__(self, out: TextIO, spinner: TextIO | None = None) -> None:
        """Write to ``out``; draw the spinner on ``spinner`` (None: never)."""
        self._out = out
        self._spinner = spinner
        self._lock = threading.Lock()
        self._at_line_start = True
        self._last_write = 0.0
        self._drawn = False
        self._busy = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def write(self, text: str) -> int:
        """Erase the spinner, write ``text`` and flush."""
        if not text:
            return 0
        with self._lock:
            self._erase()
            self._out.write(text)
            self._out.flush()
            self._at_line_start = text.endswith("\n")
            self._last_write = time.monotonic()
        return len(text)

    def flush(self) -> None:
        """Flush standard output."""
        self._out.flush()

    def end_line(self) -> None:
        """Finish a line of streamed text (nothing if the cursor is at a line start)."""
        if not self._at_line_start:
            self.write("\n")

    def isatty(self) -> bool:
        """Whether standard output is a terminal."""
        return self._out.isatty()

    @contextmanager
    def busy(self) -> Iterator[None]:
        """Show the spinner (on a terminal) whenever nothing is written for a moment."""
        if self._spinner is None:
            yield
            return
        with self._lock:
            self._busy += 1
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._spin, daemon=True)
                self._thread.start()
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                thread = self._thread if self._busy == 0 else None
                if thread is not None:
                    self._thread = None
                    self._stop.set()
                self._erase()
            if thread is not None:
                thread.join()

    def _spin(self) -> None:
        frames = itertools.cycle(SPINNER_FRAMES)
        while not self._stop.wait(SPINNER_INTERVAL_SECONDS):
            with self._lock:
                quiet = time.monotonic() - self._last_write >= SPINNER_DELAY_SECONDS
                if self._busy and self._at_line_start and quiet and self._spinner is not None:
                    self._spinner.write(f"{ERASE_LINE}{next(frames)} {SPINNER_LABEL}")
                    self._spinner.flush()
                    self._drawn = True

    def _erase(self) -> None:
        """Remove the spinner's line (caller holds the lock)."""
        if self._drawn and self._spinner is not None:
            self._spinner.write(ERASE_LINE)
            self._spinner.flush()
            self._drawn = False


def live_output(out: TextIO, err: TextIO, *, spinner: bool = True) -> TextIO:
    """Wrap ``out`` in a :class:`LiveOutput` (a text stream).

    The spinner goes to ``err`` only if ``spinner`` is true and ``err`` is a terminal.
    """
    live = LiveOutput(out, err if spinner and _is_terminal(err) else None)
    return cast("TextIO", live)


def busy(out: Any) -> Any:
    """``out.busy()`` for a :class:`LiveOutput`, else a context that does nothing."""
    return out.busy() if isinstance(out, LiveOutput) else nullcontext()


def end_line(out: Any) -> None:
    """End a line of streamed text on ``out`` (a :class:`LiveOutput`, or any text stream)."""
    if isinstance(out, LiveOutput):
        out.end_line()
    else:
        out.write("\n")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False
