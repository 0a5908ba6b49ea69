"""Write a deterministic N-line Amazon 2018-format review dump (.json.gz) for the bulk benchmarks.

    .venv/bin/python benchmarks/make_review_dump.py OUT.json.gz [--lines 1000000]

Cycles the real lines of amzn_assets_tests/fixtures/All_Beauty_5.json.gz (5,269 reviews: their
text, vote, style and image variety is kept byte for byte). Every line gets, in place in the raw
bytes, a reviewerID of its own (same 14-character shape), and every pass after the first moves
unixReviewTime and reviewTime back by a whole number of days (up to ten years), so that
(asin, reviewer_id, review_time) is unique over the whole dump. Written with gzip level 6 and a
zero mtime: the same N gives the same bytes (1,000,000 lines: 466 MB of JSON, 123 MB gzip).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import re
import time
from pathlib import Path

FIXTURE = Path(__file__).parents[1] / "amzn_assets_tests" / "fixtures" / "All_Beauty_5.json.gz"
_REVIEWER = re.compile(rb'"reviewerID": "([^"]*)"')
_UNIX = re.compile(rb'"unixReviewTime": (\d+)')
_TEXT_TIME = re.compile(rb'"reviewTime": "[^"]*"')
_ALPHABET = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DAY = 86_400


def _reviewer_id(cycle: int, index: int) -> bytes:
    """A unique 'A' + 13 base-36 characters id for (cycle, index)."""
    n = (cycle * 1_000_003 + index) * 0x9E3779B97F4A7C15 % 36**13  # odd, not a multiple of 3: a bijection
    digits = bytearray()
    for _ in range(13):
        n, r = divmod(n, 36)
        digits.append(_ALPHABET[r])
    return b"A" + bytes(digits)


def _vary(line: bytes, cycle: int, index: int) -> bytes:
    # every line gets its own reviewer (the fixture itself repeats some keys: duplicated reviews)
    line = _REVIEWER.sub(b'"reviewerID": "' + _reviewer_id(cycle, index) + b'"', line, count=1)
    match = _UNIX.search(line)
    if match and cycle:
        ts = int(match.group(1)) - (cycle % 3650) * _DAY  # back up to ~10 years: never in the future
        ts = max(ts, 0)
        date = dt.date(1970, 1, 1) + dt.timedelta(days=ts // _DAY)
        line = line[: match.start(1)] + str(ts).encode() + line[match.end(1) :]
        text = f'"reviewTime": "{date.month:02d} {date.day}, {date.year}"'.encode()
        line = _TEXT_TIME.sub(text, line, count=1)
    return line


def make_dump(out: str | Path, lines: int = 1_000_000, level: int = 6) -> int:
    """Write the dump; returns its compressed size in bytes."""
    source = [ln for ln in gzip.decompress(FIXTURE.read_bytes()).split(b"\n") if ln.strip()]
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level, mtime=0) as gz:
        buffer: list[bytes] = []
        for n in range(lines):
            cycle, index = divmod(n, len(source))
            buffer.append(_vary(source[index], cycle, index))
            if len(buffer) == 8192:
                gz.write(b"\n".join(buffer) + b"\n")
                buffer.clear()
        if buffer:
            gz.write(b"\n".join(buffer) + b"\n")
    return Path(out).stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", help="file to write, e.g. /tmp/x/Reviews_1M.json.gz")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--level", type=int, default=6, help="gzip level (default 6)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    size = make_dump(args.out, args.lines, args.level)
    print(f"wrote {args.lines:,} lines to {args.out}: {size / 1e6:,.1f} MB gzip, {time.perf_counter() - t0:.1f}s")


if __name__ == "__main__":
    main()
