"""Benchmark: a day's read of landed reviews after 1 and after N historical stream batches,
without compaction, with compaction as landing runs it, and after one full compaction.

    .venv/bin/python benchmarks/segment_read.py [--batches 1000] [--rows 1000] [--days 4700]

Each batch is what a stream of historical one-review files lands (a category's history uploaded in
random order): `rows` reviews on days drawn uniformly from `days` days, written with the real
segment writer (one span segment, as SegmentStore.write makes it for a batch over > 4 days) and
committed in the real ledger (SQLite). Reads go through the real reader (LandedReader.reviews:
the ledger's readable set, the segments, one row per review); the segment level alone
(SegmentStore.read) and the files a read opens are printed too. Three landing zones:

* plain: N batches, never compacted (the layout before compaction);
* auto: N batches, Compactor.compact_due() after each, as Lander.land_pending calls it;
* plain again, after Compactor.compact(everything=True): one compaction holds every batch.

Prints the best time of each read (of 30 for a day, 10 for 31 days, 3 for all) and its ratio to
the same read after 1 batch.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from amzn_assets import tables
from amzn_assets.landing.compaction import Compactor
from amzn_assets.landing.intake import new_batch_id
from amzn_assets.landing.kinds import REVIEWS
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.segments import SegmentStore

START = date(2005, 1, 1)
EPOCH = date(1970, 1, 1)


def batch_table(rng: np.random.Generator, rows: int, days: int, batch: int) -> pa.Table:
    """A batch of historical reviews: random days, realistic column widths (text ~300 chars)."""
    day = rng.integers(0, days, rows)
    first = (START - EPOCH).days
    seconds = (first + day) * 86_400 + rng.integers(0, 86_400, rows)
    words = np.array(["great", "product", "works", "skin", "smell", "bottle", "price", "would", "buy", "again"])
    text = [" ".join(words[rng.integers(0, 10, 50)]) for _ in range(rows)]
    return pa.table(
        {
            "review_date": pa.array((first + day).astype(np.int32), pa.date32()),
            "review_time": pa.array(seconds, tables.PARSED_REVIEW_SCHEMA.field("review_time").type),
            "asin": pa.array([f"B{x:09d}" for x in rng.integers(0, 30_000, rows)]),
            "reviewer_id": pa.array([f"A{batch:05d}{i:06d}" for i in range(rows)]),
            "reviewer_name": pa.array(["A reviewer"] * rows),
            "category": pa.array(["all_beauty"] * rows),
            "rating": pa.array(rng.integers(1, 6, rows).astype(np.int8)),
            "verified": pa.array(rng.random(rows) < 0.9),
            "vote": pa.array(rng.integers(0, 20, rows).astype(np.int32)),
            "total_votes": pa.nulls(rows, pa.int32()),
            "style": pa.nulls(rows, pa.string()),
            "summary": pa.array(["Five stars"] * rows),
            "review_text": pa.array(text),
            "image_count": pa.array(np.zeros(rows, np.int16)),
        },
        schema=tables.PARSED_REVIEW_SCHEMA,
    )


class Zone:
    def __init__(self, root: Path, compact: bool):
        self.ledger = Ledger(f"sqlite:///{root}/ledger.sqlite")
        self.segments = SegmentStore(root / "landed")
        self.reader = LandedReader(self.ledger, self.segments)
        self.compactor = Compactor(self.ledger, self.segments)
        self.compact = compact
        self.landing_s = self.compaction_s = 0.0
        self.compactions = 0
        self.rows_compacted = 0

    def land(self, table: pa.Table) -> None:
        started = time.perf_counter()
        batch_id = new_batch_id()
        self.ledger.open_batch(batch_id, "reviews")
        self.segments.write("reviews", table, "review_date", batch_id)
        self.ledger.commit_batch(batch_id, [], [], table.num_rows)
        landed = time.perf_counter()
        self.landing_s += landed - started
        if self.compact:
            for report in self.compactor.compact_due():
                self.compactions += 1
                self.rows_compacted += report.rows
            self.compaction_s += time.perf_counter() - landed

    def files_opened(self, keys: list[str]) -> int:
        return len(self.segments.paths("reviews", self.reader.readable("reviews"), "review_date", keys))

    def read(self, keys: list[str]) -> int:
        return self.reader.reviews(keys)[0].num_rows

    def read_segments(self, keys: list[str]) -> int:
        readable = self.reader.readable("reviews")
        return self.segments.read("reviews", REVIEWS.schema, readable, "review_date", keys).num_rows


def best_ms(call, repeat: int) -> float:
    """The best of repeat timings (the machine is shared: the best is the least disturbed)."""
    call()  # warm: imports, DuckDB, the page cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def measure(zone: Zone, reads: dict[str, tuple[list[str], int]]) -> dict[str, tuple[float, float, int, int]]:
    """name -> (reader ms, segment-level ms, files opened, rows)."""
    return {
        name: (
            best_ms(lambda: zone.read(keys), repeat),
            best_ms(lambda: zone.read_segments(keys), repeat),
            zone.files_opened(keys),
            zone.read(keys),
        )
        for name, (keys, repeat) in reads.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000, help="reviews per batch")
    parser.add_argument("--days", type=int, default=4700, help="days of history the batches draw from")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="amzn-segment-read-"))
    rng = np.random.default_rng(args.seed)
    first = batch_table(rng, args.rows, args.days, 0)
    # The day read: one the first batch has rows on (a day without rows skips the review-id hashing).
    day = first["review_date"][args.rows // 2].as_py()
    every_day = [(START + timedelta(days=n)).isoformat() for n in range(args.days)]
    reads = {
        "one day": ([day.isoformat()], 30),
        "31 days": ([(day + timedelta(days=n)).isoformat() for n in range(31)], 10),
        "all days": (every_day, 3),
    }

    plain, auto = Zone(root / "plain", compact=False), Zone(root / "auto", compact=True)
    for zone in (plain, auto):
        zone.land(first)
    after_one = measure(plain, reads)
    started = time.perf_counter()
    for b in range(1, args.batches):
        table = batch_table(rng, args.rows, args.days, b)
        plain.land(table)
        auto.land(table)
    built = time.perf_counter() - started
    after_plain, after_auto = measure(plain, reads), measure(auto, reads)
    started = time.perf_counter()
    full = plain.compactor.compact("reviews", everything=True)
    full_s = time.perf_counter() - started
    after_full = measure(plain, reads)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    print(f"{args.batches} batches x {args.rows} rows over {args.days} days ({args.batches * args.rows:,} rows), built in {built:.0f}s in {root}")
    print(
        f"landing (segment write + ledger commit only; no parsing, hashing or archiving): "
        f"{plain.landing_s:.1f}s, {plain.landing_s / args.batches * 1000:.1f} ms per batch"
    )
    print(
        f"auto compaction: {auto.compactions} compactions, {auto.rows_compacted:,} rows written "
        f"({auto.rows_compacted / (args.batches * args.rows):.1f}x the rows landed), {auto.compaction_s:.1f}s in all, "
        f"{auto.compaction_s / args.batches * 1000:.1f} ms per batch landed ({auto.compaction_s / auto.landing_s:.2f}x the landing above)"
    )
    print(f"full compaction of the plain zone: {full.rows:,} rows in {full.pieces} pieces, {full_s:.1f}s")
    print()
    header = f"{'read':<10} {'state':<34} {'reader ms':>10} {'x 1 batch':>9} {'segments ms':>12} {'x 1 batch':>9} {'files':>6} {'rows':>10}"  # best of
    print(header)
    print("-" * len(header))
    for name in reads:
        base_reader, base_segments, *_ = after_one[name]
        for state, results in (
            ("after 1 batch", after_one),
            (f"after {args.batches}, not compacted", after_plain),
            (f"after {args.batches}, compacted as landed", after_auto),
            (f"after {args.batches}, one full compaction", after_full),
        ):
            reader_ms, segments_ms, files, rows = results[name]
            print(
                f"{name:<10} {state:<34} {reader_ms:>10.1f} {reader_ms / base_reader:>8.2f}x "
                f"{segments_ms:>12.1f} {segments_ms / base_segments:>8.2f}x {files:>6} {rows:>10,}"
            )


if __name__ == "__main__":
    main()
