"""Benchmark: iter_review_dump over a whole review dump, gzip file on disk -> Arrow batches.

    .venv/bin/python benchmarks/make_review_dump.py /tmp/x/Reviews_1M.json.gz
    .venv/bin/python benchmarks/dump_parse_throughput.py /tmp/x/Reviews_1M.json.gz [--repeat 3]

Times complete passes (read, gunzip, parse, validate; every batch's table is built and dropped),
prints each pass (wall clock, and the CPU time of the process: user + system, all threads), the best
and the median in reviews/s, the peak RSS of the process (getrusage: includes the interpreter and
imports), the machine and its load average (other processes compete for the 2 cores: compare the
CPU seconds, which barely depend on that load). For reference it also times a plain gunzip of the
file (--no-baseline skips it). The file is read once first so that it sits in the page cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
import zlib
from datetime import date


def gunzip_seconds(path: str) -> float:
    t0 = time.perf_counter()
    inflater = zlib.decompressobj(31)
    with open(path, "rb", buffering=0) as f:
        while chunk := f.read(1 << 20):
            while chunk:
                inflater.decompress(chunk, 4 << 20)
                chunk = inflater.unconsumed_tail
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", help="a dump written by make_review_dump.py")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-lines", type=int, default=262_144)
    parser.add_argument("--category", default="All_Beauty")
    parser.add_argument("--no-baseline", action="store_true", help="skip the plain gunzip timing")
    args = parser.parse_args()

    from amzn_assets.sources.dumps import iter_review_dump

    with open(args.dump, "rb") as f:  # warm the page cache
        while f.read(16 << 20):
            pass
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average before: {os.getloadavg()[0]:.2f}"
    )
    print(f"dump: {args.dump} ({os.path.getsize(args.dump) / 1e6:,.1f} MB), batch_lines={args.batch_lines:,}")
    walls, cpus = [], []
    for n in range(args.repeat):
        rows = rejects = batches = 0
        before = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        for result in iter_review_dump(
            args.dump, category=args.category, source=os.path.basename(args.dump),
            batch_lines=args.batch_lines, today=date(2024, 1, 1),
        ):
            rows += result.table.num_rows
            rejects += len(result.rejected)
            batches += 1
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        walls.append(seconds)
        cpus.append(cpu)
        print(f"pass {n + 1}: {rows:,} rows + {rejects:,} rejects in {batches} batches, {seconds:.2f}s "
              f"-> {rows / seconds:,.0f} reviews/s (CPU {cpu:.2f}s)")
    best, median = min(walls), statistics.median(walls)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"best of {args.repeat}: {best:.2f}s -> {rows / best:,.0f} reviews/s; median {median:.2f}s -> "
          f"{rows / median:,.0f} reviews/s; CPU per pass {min(cpus):.2f}-{max(cpus):.2f}s; peak RSS {peak_mb:,.0f} MB")
    if not args.no_baseline:
        seconds = min(gunzip_seconds(args.dump) for _ in range(2))
        print(f"reference, gunzip alone (zlib, one thread): {seconds:.2f}s -> {rows / seconds:,.0f} reviews/s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
