"""Benchmark: a real category streamed one review per file under a real dagster-daemon.

    .venv/bin/python benchmarks/stream_real.py [--dump amzn_assets_tests/fixtures/All_Beauty_5.json.gz]
        [--rate 6000/min] [--interval 5] [--trickle-minutes 3] [--trickle-rate 600/min]

1. History: split the dump (real review times, years of scattered days), upload it at --rate with
   the sensors on; print the distinct reviews expected (review identity, docs/data-model.md) and
   found in reviews_fact, the stream_job runs launched, and the seconds from the last upload until
   the last review was in reviews_fact.
2. Trickle: then upload current-day reviews (the same files stamped with the upload time) at
   --trickle-rate for --trickle-minutes; print the lag of each file (upload -> in reviews_fact):
   median, 95th percentile and max, against two sensor intervals plus 15 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from bisect import bisect_left
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def distinct_reviews(dump: Path) -> int:
    """Distinct reviews by the identity rule, computed here independently of the pipeline."""
    seen = set()
    with gzip.open(dump, "rt") as lines:
        for line in lines:
            r = json.loads(line)
            style = r.get("style")
            style = json.dumps({k.strip().rstrip(":").strip(): v.strip() if isinstance(v, str) else v for k, v in style.items()}, sort_keys=True) if style else None
            seen.add((r["reviewerID"], r["asin"], r["unixReviewTime"], style, r["overall"], r.get("summary"), r.get("reviewText")))
    return len(seen)


def unique_without_time(split: Path, out: Path) -> None:
    """The split files, keeping one of those that differ only in review time: restamped with the
    upload time, two of them within one second would be one review (and never two rows)."""
    out.mkdir(parents=True)
    seen = set()
    for path in sorted(split.iterdir()):
        r = json.loads(gzip.decompress(path.read_bytes()))
        key = (r["reviewerID"], r["asin"], json.dumps(r.get("style"), sort_keys=True), r["overall"], r.get("summary"), r.get("reviewText"))
        if key not in seen:
            seen.add(key)
            shutil.copy(path, out / path.name)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", default=str(REPO / "amzn_assets_tests/fixtures/All_Beauty_5.json.gz"))
    parser.add_argument("--category", default="all_beauty")
    parser.add_argument("--rate", default="6000/min")
    parser.add_argument("--interval", type=int, default=5)
    parser.add_argument("--all-at-once", action="store_true",
                        help="move the split files into the upload area in one rename while the sensors run, "
                             "instead of uploading them one by one (the history alone)")
    parser.add_argument("--trickle-minutes", type=float, default=3.0, help="0: the history alone")
    parser.add_argument("--trickle-rate", default="600/min")
    args = parser.parse_args()

    from dagster import DagsterInstance, RunsFilter
    from dagster._core.instance.ref import InstanceRef

    from amzn_assets.data_dirs import DataDirs
    from amzn_assets.upload_simulator.split import split_dump
    from amzn_assets.upload_simulator.upload import parse_rate, upload_files
    from amzn_assets.backends.local.query import run_query
    from amzn_assets_tests.daemon import create_instance

    work = Path(tempfile.mkdtemp(prefix="amzn-stream-real-"))
    dirs = DataDirs(work / "data")
    home = work / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home)
    create_instance(home)
    split = work / "split" / args.category
    split_dump(args.dump, args.category, split, progress=False)
    expected = distinct_reviews(Path(args.dump))
    files = len(list(split.iterdir()))

    env = {**os.environ, "DAGSTER_HOME": str(home), "AMZN_DATA_DIR": str(dirs.root),
           "AMZN_SENSOR_INTERVAL_S": str(args.interval), "AMZN_SENSORS_RUNNING": "1"}
    os.environ["DAGSTER_HOME"] = str(home)
    daemon = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(work / "daemon.log", "wb"),
                              start_new_session=True)
    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))

    def in_fact() -> int:
        try:
            return run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0]
        except Exception:  # noqa: BLE001 - nothing materialized yet
            return 0

    def runs() -> list:
        return instance.get_runs(RunsFilter(job_name="stream_job"))

    try:
        time.sleep(5)  # let the daemon load the code location
        started = time.monotonic()
        if args.all_at_once:  # the fastest upload there is: every file appears in one rename
            (dirs.uploaded / "reviews").mkdir(parents=True, exist_ok=True)
            os.rename(split, dirs.uploaded / "reviews" / args.category)
            args.rate = "all at once"
        else:
            upload_files([args.category], source_dir=split.parent, target=dirs.uploaded, rate=args.rate, progress=False, copy=True)
        uploaded = time.monotonic()
        while in_fact() < expected:
            if time.monotonic() - uploaded > 1800:
                raise SystemExit(f"timed out: {in_fact()} of {expected} after 1800 s; see {work / 'daemon.log'}")
            time.sleep(0.5)
        history_lag = time.monotonic() - uploaded
        while not all(r.is_finished for r in runs()):
            time.sleep(0.5)
        found, distinct_ids = run_query(dirs.warehouse, "SELECT count(*), count(DISTINCT review_id) FROM reviews_fact").rows[0]
        history_runs = runs()
        days = run_query(dirs.warehouse, "SELECT count(DISTINCT review_date) FROM reviews_fact").rows[0][0]
        print(f"history: {files} files uploaded at {args.rate} in {uploaded - started:.1f} s; {expected} distinct reviews "
              f"expected, {found} found ({distinct_ids} distinct review_id) on {days} days")
        print(f"history: {len(history_runs)} stream_job runs; last review in reviews_fact {history_lag:.1f} s after the last upload")
        archived = [p for p in (dirs.root / "raw").rglob("*") if p.is_file()] if (dirs.root / "raw").exists() else []
        print(f"archive: {len(archived):,} files (inodes) for {files:,} uploaded files "
              f"({len(archived) / max(files, 1) * 1000:.2f} per 1,000), {sum(p.stat().st_size for p in archived) / 1e6:,.1f} MB")

        # Trickle of current-day reviews: file i is uploaded at t0 + i / rate.
        total = int(parse_rate(args.trickle_rate) * 60 * args.trickle_minutes)
        if not total or args.all_at_once:
            return
        unique_without_time(split, work / "trickle" / "trickle")
        total = min(total, len(list((work / "trickle" / "trickle").iterdir())))
        base = in_fact()
        samples: list[tuple[float, int]] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                samples.append((time.monotonic(), in_fact() - base))
                time.sleep(0.25)

        poller = threading.Thread(target=poll, daemon=True)
        trickle_source = work / "trickle"
        t0 = time.monotonic()
        poller.start()
        upload_files(["trickle"], source_dir=trickle_source, target=dirs.uploaded, rate=args.trickle_rate, limit=total,
                     keep_review_time=False, progress=False)
        deadline = time.monotonic() + 300
        while (samples[-1][1] if samples else 0) < total and time.monotonic() < deadline:
            time.sleep(0.5)
        done.set()
        poller.join()
        per_second = parse_rate(args.trickle_rate)
        times, counts = [s[0] for s in samples], [s[1] for s in samples]
        lags = []
        for i in range(total):
            at = bisect_left(counts, i + 1)
            if at < len(times):
                lags.append(times[at] - (t0 + i / per_second))
        lags.sort()
        bound = 2 * args.interval + 15
        print(f"trickle: {total} current-day files at {args.trickle_rate} for {args.trickle_minutes} min, {len(lags)} in "
              f"reviews_fact; lag median {statistics.median(lags):.1f} s, p95 {lags[int(0.95 * (len(lags) - 1))]:.1f} s, "
              f"max {lags[-1]:.1f} s (bound: 2 x {args.interval} s + 15 s = {bound} s); {len(runs()) - len(history_runs)} runs")
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(timeout=60)
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; work dir {work}")


if __name__ == "__main__":
    main()
