"""A progress line on stderr (tqdm): `label done/total rate/s ETA h:mm:ss` while it runs.

On a terminal tqdm redraws the line in place at most `interval` seconds apart; elsewhere (logs, CI,
pytest) only the final line is written, once, on close: `label done/total in h:mm:ss (rate/s)`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Self, TextIO

from tqdm import tqdm

_LINE = "{desc} {n}/{total_fmt} {rate_noinv_fmt} ETA {remaining}"


class _Bar(tqdm):
    """tqdm whose ETA, when the total is unknown, comes from `fraction` (e.g. compressed bytes read)."""

    fraction: Callable[[], float] | None = None

    @property
    def format_dict(self) -> dict:
        found = super().format_dict
        if found["total"] is None:
            share = self.fraction() if self.fraction is not None else 0
            eta = tqdm.format_interval(found["elapsed"] * (1 - share) / share) if share > 0 else "?"
            found["bar_format"] = found["bar_format"].replace("{remaining}", eta)
        return found


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
        self.enabled = enabled
        self.live = enabled and _is_tty(self.stream)
        self.started = time.monotonic()
        self._closed = False
        self._bar = _Bar(
            total=total, desc=label, file=self.stream, mininterval=interval, miniters=1, unit="",
            bar_format=_LINE, leave=False, disable=not self.live, dynamic_ncols=False,
        )
        self._bar.fraction = fraction

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.live:
            self._bar.update(n)

    def update_to(self, done: int) -> None:
        """Progress given as the running total (a callback's `rows so far`)."""
        self.update(done - self.done)

    def close(self) -> None:
        """Write the final line (also when not a terminal) and end it with a newline."""
        if self._closed or not self.enabled:
            return
        self._closed = True
        self._bar.close()  # leave=False: the live line is cleared for the final one
        elapsed = max(time.monotonic() - self.started, 1e-9)
        done = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        text = f"{self.label} {done} in {tqdm.format_interval(elapsed)} ({self.done / elapsed:,.0f}/s)\n"
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stderr must not stop the work
            self.enabled = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
