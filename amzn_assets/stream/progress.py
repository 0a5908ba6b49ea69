"""A tiny progress line on stderr: `label done/total rate/s ETA h:mm:ss`, no dependencies.

On a terminal the line is redrawn in place at most `interval` seconds apart; elsewhere (logs, CI,
pytest) only the final line is written, once, on close.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Self, TextIO


class Progress:
    """Count work done; use as `with Progress("split", total=n) as bar: ... bar.update()`."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        interval: float = 0.2,
        fraction: Callable[[], float] | None = None,
        enabled: bool = True,
    ):
        self.label = label
        self.total = total
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        # Share of the work done, for an ETA when the total is unknown (e.g. compressed bytes read).
        self.fraction = fraction
        self.enabled = enabled
        self.live = enabled and _is_tty(self.stream)
        self.started = time.monotonic()
        self._next_draw = self.started + interval
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.live:
            now = time.monotonic()
            if now >= self._next_draw:
                self._next_draw = now + self.interval
                self._write("\r" + self.line(now) + "\x1b[K")

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        share = None
        if self.total:
            share = self.done / self.total
        elif self.fraction is not None:
            share = self.fraction()
        eta = _clock(elapsed * (1 - share) / share) if share and share > 0 else "?"
        total = self.total if self.total is not None else "?"
        return f"{self.label} {self.done}/{total} {rate:,.0f}/s ETA {eta}"

    def close(self) -> None:
        """Write the final line (also when not a terminal) and end it with a newline."""
        if self._closed or not self.enabled:
            return
        self._closed = True
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        text = f"{self.label} {done} in {_clock(elapsed)} ({self.done / elapsed:,.0f}/s)"
        self._write(f"\r{text}\x1b[K\n" if self.live else text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the work
            self.enabled = self.live = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
