"""Benchmark: stream_sensor ticks and the stream job's planning with a large history.

    .venv/bin/python benchmarks/sensor_tick.py [--archived 1000000] [--new 1000]

Builds a data directory whose ledger holds --archived landed (and applied) files in 1,000-file
batches, with that many (empty) files under data/raw/, then uploads --new single-review files and
times: a stream_sensor tick with files waiting (lists the upload area), the landing of the new
files, a stream_sensor tick with the new batch unapplied, and the stream job's choice of batches
and days to materialize (take_batches: the ledger after its watermark).
"""

from __future__ import annotations

import argparse
import sys
import gzip
import json
import os
import platform
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # amzn_assets_tests.deployment: the test suite's resources_for

warnings.filterwarnings("ignore")


def fake_history(dirs, files: int) -> str:
    """Ledger rows and archive files for `files` already-landed reviews; returns the last batch id."""
    from sqlalchemy import insert

    from amzn_assets.landing.intake import Lander, new_batch_id
    from amzn_assets.landing.ledger_schema import landing_batches, landing_files

    ledger = Lander(dirs).ledger
    now = datetime.now(timezone.utc)
    raw = dirs.raw / "reviews" / "history"
    raw.mkdir(parents=True, exist_ok=True)
    last = ""
    with ledger.engine.begin() as conn:
        for start in range(0, files, 1000):
            last = new_batch_id()
            conn.execute(insert(landing_batches).values(batch_id=last, kind="reviews", status="committed",
                                                        file_count=1000, row_count=1000, created_at=now, committed_at=now))
            conn.execute(insert(landing_files), [
                {"path": f"uploaded/reviews/history/h-{i:09d}.json.gz", "size_bytes": 300, "mtime_ns": 0,
                 "sha256": f"{i:064x}", "kind": "reviews", "category": "history", "batch_id": last,
                 "status": "landed", "partitions": '["2017-06-01"]',
                 "archived_path": f"raw/reviews/history/h-{i:09d}.json.gz", "landed_at": now}
                for i in range(start, min(start + 1000, files))
            ])
    for i in range(files):
        os.close(os.open(raw / f"h-{i:09d}.json.gz", os.O_CREAT | os.O_WRONLY, 0o644))
    return last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--archived", type=int, default=1_000_000)
    parser.add_argument("--new", type=int, default=1_000)
    args = parser.parse_args()

    from dagster import DagsterInstance, build_sensor_context

    from amzn_assets_tests.deployment import resources_for
    from amzn_assets.landing.intake import Lander
    from amzn_assets.landing.readers import LandedReader
    from amzn_assets.domains.stream.sensor import stream_sensor
    from amzn_assets.stream.apply import STREAM_WATERMARK, take_batches
    from amzn_assets.data_dirs import DataDirs

    dirs = DataDirs(Path(tempfile.mkdtemp(prefix="amzn-tick-")) / "data")
    t0 = time.perf_counter()
    last = fake_history(dirs, args.archived)
    Lander(dirs).ledger.set_applied_through(STREAM_WATERMARK, last)
    built = time.perf_counter() - t0
    folder = dirs.uploaded / "reviews" / "toys"
    folder.mkdir(parents=True)
    for i in range(args.new):
        review = {"overall": 5.0, "reviewerID": f"ANEW{i:06d}", "asin": "B000BENCH1", "reviewText": "Fine.",
                  "unixReviewTime": 1514851200 + 86400 * (i % 30)}
        (folder / f"new-{i:06d}.json.gz").write_bytes(gzip.compress(json.dumps(review).encode(), mtime=0))

    def tick(instance):
        with build_sensor_context(instance=instance, resources=resources_for("local", str(dirs.root))) as context:
            t0 = time.perf_counter()
            request = stream_sensor(context)
            return request, time.perf_counter() - t0

    with DagsterInstance.ephemeral() as instance:
        request, upload_tick = tick(instance)
        assert request.tags["amzn/files_waiting"] == str(args.new)
        t0 = time.perf_counter()
        lander = Lander(dirs)
        report = lander.land_pending()
        landing = time.perf_counter() - t0
        request, batch_tick = tick(instance)
        assert request.tags["amzn/files_waiting"] == "0"
        t0 = time.perf_counter()
        batches, days = take_batches(lander.ledger, LandedReader(lander.ledger, lander.segments))
        planning = time.perf_counter() - t0
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"history: {args.archived:,} landed files in the ledger and under raw/ (built in {built:.0f}s)")
    print(f"stream_sensor tick with {args.new:,} files waiting: {upload_tick * 1000:.0f} ms")
    print(f"landing the {report.files_landed:,} new files: {landing * 1000:.0f} ms")
    print(f"stream_sensor tick with the new batch unapplied: {batch_tick * 1000:.0f} ms")
    print(f"take_batches ({len(batches)} batch, {len(days['reviews'])} review days): {planning * 1000:.0f} ms")
    print(f"(data in {dirs.root})")


if __name__ == "__main__":
    main()
