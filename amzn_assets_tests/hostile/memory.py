"""Peak memory of `amzn-assets land` over one upload area: a fresh process per measurement."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])\n"
)


def land_peak_rss_mb(data_dir: Path, timeout_s: float = 120, **settings: str) -> tuple[float, str]:
    """(peak RSS in MB of one `amzn-assets land` of data_dir, its output tail); fails on a non-zero exit."""
    env = {**os.environ, "AMZN_DATA_DIR": str(data_dir), **settings}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(BIN / "amzn-assets"), "land"],
        capture_output=True, text=True, env=env, timeout=timeout_s,
    )
    code, peak_kb = done.stdout.split()
    assert code == "0", done.stderr
    return int(peak_kb) / 1024, done.stderr


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def review_file_of(inflated_bytes: int) -> bytes:
    """A gzip of real-shaped reviews (2 KB texts that compress ~4x) inflating to about this size."""
    from amzn_assets_tests.hostile.corpus import gz, review_line, text_like

    texts = [text_like(2000, seed) for seed in range(50)]
    lines, size, n = [], 0, 0
    while True:
        line = review_line(reviewerID=f"R{n}", reviewText=texts[n % 50])
        if size + len(line) > inflated_bytes:
            return gz(b"".join(lines))
        lines.append(line)
        size, n = size + len(line), n + 1
