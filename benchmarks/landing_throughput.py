"""Benchmark: land N single-review .json.gz files, then materialize reviews_fact over them.

    .venv/bin/python benchmarks/landing_throughput.py [--reviews 100000] [--days 60] [--land-only]

Prints files/s and rows/s for landing, the archive's inodes per 1,000 landed files, and rows/s for
one single-run materialization of landed_reviews, users, products, datetime and reviews_fact over
the whole date range.
"""

from __future__ import annotations

import argparse
import sys
import os
import platform
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # amzn_assets_tests.deployment: the test suite's resources_for

warnings.filterwarnings("ignore")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--keep", help="data directory to use and keep (default: a temporary one)")
    parser.add_argument("--land-only", action="store_true", help="stop after landing (no materialization)")
    args = parser.parse_args()

    from dagster import DagsterInstance, materialize

    from amzn_assets_tests.deployment import all_assets, resources_for
    from amzn_assets.generate import generate_sample
    from amzn_assets.landing.archive import Archive
    from amzn_assets.landing.intake import Lander
    from amzn_assets.data_dirs import DataDirs

    root = Path(args.keep or tempfile.mkdtemp(prefix="amzn-bench-"))
    dirs = DataDirs(root / "data")
    start = date(2018, 1, 1)
    t0 = time.perf_counter()
    generate_sample(dirs.root, seed=1, start=start, days=args.days, reviews=args.reviews,
                    products_per_category=max(60, args.reviews // 50), reviewers=max(800, args.reviews // 4))
    generated = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = Lander(dirs).land_pending()
    landing = time.perf_counter() - t0
    archived = list(Archive(Lander(dirs).store).paths())
    review_files = sum("#uploaded/reviews/" in p or p.startswith("raw/reviews/") for p in archived)
    inodes = sum(1 for _ in dirs.raw.rglob("*"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"generated {args.reviews} review files over {args.days} days in {generated:.1f}s")
    print(
        f"landing: {review_files} review files + {report.files_landed - review_files} others, "
        f"{report.rows} rows in {landing:.2f}s -> {report.files_landed / landing:,.0f} files/s, "
        f"{report.rows / landing:,.0f} rows/s ({report.batches} batches); archive: {len(archived)} files in "
        f"{inodes} inodes under raw/ ({1000 * inodes / max(len(archived), 1):.2f} per 1,000), load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg())
    )
    if args.land_only:
        print(f"data kept in {root}" if args.keep else f"(temporary data in {root})")
        return

    last = (start + timedelta(days=args.days - 1)).isoformat()
    selection = ["landed_reviews", "users", "products", "datetime", "reviews_fact"]
    with DagsterInstance.ephemeral() as instance:
        t0 = time.perf_counter()
        result = materialize(
            all_assets,
            selection=selection,
            resources=resources_for("local", str(dirs.root)),
            instance=instance,
            tags={"dagster/asset_partition_range_start": start.isoformat(), "dagster/asset_partition_range_end": last},
            raise_on_error=True,
        )
        materializing = time.perf_counter() - t0
        assert result.success

    print(
        f"materialize {'+'.join(selection)} over {args.days} partitions in one run: {materializing:.2f}s "
        f"-> {args.reviews / materializing:,.0f} reviews/s"
    )
    print(f"data kept in {root}" if args.keep else f"(temporary data in {root})")


if __name__ == "__main__":
    main()
