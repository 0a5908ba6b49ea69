"""Benchmark: `amzn-assets land` against the seed project's loading of one-review files.

    .venv/bin/python benchmarks/seed_comparison.py [--rounds 5]

The real All Beauty excerpt (5,269 reviews, 2004-2018) is split into one review per file, as the
seed's stream did. Each round re-creates that file set in data/uploaded/reviews/all_beauty/ of a
fresh data directory (untimed), then times in-process, alternating which goes first:

  seed  the older project's method (riomat13/amzn_review: load_review_files + JSONToPostgresOperator):
        list the files, read and gunzip each, json.loads, one tuple per review, psycopg2
        execute_values into its staging_reviews table (its columns), one commit. The seed ran the
        loader in a process pool (one worker below 100,000 files); here it runs in-process, which
        only spares the seed that overhead. PostgreSQL runs at its default (durable) settings.
  land  Lander(dirs).land_pending(), what `amzn-assets land` runs, on the default embedded ledger
        (SQLite in data/landed/): hash, parse, write and fsync segments, commit the ledger,
        archive every file to data/raw/.

PostgreSQL is the pgserver wheel (as the tests start it), or AMZN_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import argparse
import gc
import glob
import gzip
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from datetime import datetime
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "amzn_assets_tests" / "fixtures" / "All_Beauty_5.json.gz"
CATEGORY = "all_beauty"

# The seed's staging table (workflow/dags/sql/table_creation_local/staging_tables_creation.sql).
SEED_STAGING = """
CREATE TABLE IF NOT EXISTS staging_reviews (
    reviewer_id VARCHAR(20) NOT NULL, asin VARCHAR(10) NOT NULL, reviewer TEXT, vote INT DEFAULT 0,
    rating INT NOT NULL, review_time TIMESTAMP NOT NULL, review_text TEXT, summary TEXT
)"""
SEED_INSERT = (
    "INSERT INTO staging_reviews (reviewer_id, asin, reviewer, vote, rating, review_time, review_text, summary) "
    "VALUES %s"
)
SEED_FILE_BATCH = 100_000  # the seed grouped files by this many before inserting


def seed_rows(paths: list[str]) -> list[tuple]:
    """One tuple per one-review file, field for field as the seed's loader built it."""
    rows = []
    for path in paths:
        with gzip.open(path, "rb") as handle:
            review = json.loads(handle.read())
        rows.append((
            review["reviewerID"],
            review["asin"],
            review.get("reviewerName", "anonymous"),
            int(review.get("vote", "0").replace(",", "")),
            int(review["overall"]),
            datetime.fromtimestamp(int(review["unixReviewTime"])),
            review.get("reviewText"),
            review.get("summary"),
        ))
    return rows


def seed_load(libpq: str, folder: Path) -> int:
    import psycopg2
    import psycopg2.extras

    conn = psycopg2.connect(libpq)
    cur = conn.cursor()
    files = glob.glob(os.path.join(folder, "*.json.gz"))
    count = 0
    try:
        for start in range(0, len(files), SEED_FILE_BATCH):
            rows = seed_rows(files[start : start + SEED_FILE_BATCH])
            psycopg2.extras.execute_values(cur, SEED_INSERT, rows)
            count += len(rows)
        conn.commit()
    finally:
        cur.close()
        conn.close()
    return count


def start_postgres(work: Path):
    """(libpq URL, server or None): AMZN_TEST_POSTGRES_URL, else a throwaway pgserver."""
    url = os.environ.get("AMZN_TEST_POSTGRES_URL")
    if url:
        return url.replace("postgresql+psycopg2://", "postgresql://", 1), None
    import pgserver

    server = pgserver.get_server(work / "pg", cleanup_mode="delete")
    return server.get_uri(), server


def fresh_upload_area(root: Path, source: Path) -> Path:
    """A new data directory whose upload area holds a copy of every one-review file."""
    if root.exists():
        shutil.rmtree(root)
    folder = root / "uploaded" / "reviews" / CATEGORY
    folder.mkdir(parents=True)
    for entry in os.scandir(source):
        shutil.copyfile(entry.path, folder / entry.name)
    return folder


def settle() -> None:
    """Write back the preparation's dirty pages and collect garbage, so neither run pays for them."""
    os.sync()
    gc.collect()


def run_seed(libpq: str, root: Path, source: Path) -> float:
    import psycopg2

    folder = fresh_upload_area(root, source)
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute(SEED_STAGING)
        cur.execute("TRUNCATE staging_reviews")
    conn.close()
    settle()
    started = time.perf_counter()
    count = seed_load(libpq, folder)
    seconds = time.perf_counter() - started
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM staging_reviews")
        stored = cur.fetchone()[0]
    conn.close()
    assert count == stored, (count, stored)
    return seconds


def run_land(root: Path, source: Path, expected: int) -> float:
    from amzn_assets.landing.intake import Lander
    from amzn_assets.landing.ledger import Ledger
    from amzn_assets.data_dirs import DataDirs

    fresh_upload_area(root, source)
    dirs = DataDirs(root)
    Ledger(dirs.ledger_url()).engine.dispose()  # the ledger exists already, as on any data dir in use
    settle()
    started = time.perf_counter()
    report = Lander(dirs).land_pending()
    seconds = time.perf_counter() - started
    # The excerpt repeats some reviews byte for byte: those files are recorded as duplicates.
    handled = report.files_landed + report.files_duplicate
    assert handled == expected and report.rows == report.files_landed, (handled, report.rows)
    return seconds


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name in ("AMZN_LEDGER_URL", "AMZN_BACKEND"):  # the default embedded ledger, as `amzn-assets land`
        os.environ.pop(name, None)

    from amzn_assets.upload_simulator.split import split_dump

    work = Path(tempfile.mkdtemp(prefix="amzn-seed-cmp-"))
    source = work / "split"
    files = split_dump(FIXTURE, CATEGORY, source, progress=False).files
    libpq, server = start_postgres(work)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.system()} {platform.release()}")
    print(f"{files:,} one-review files from {FIXTURE.name}; {args.rounds} rounds, alternating order")
    print(f"load average before: {load_average()}")

    seed_s, land_s = [], []
    try:
        for n in range(args.rounds):
            order = ("seed", "land") if n % 2 == 0 else ("land", "seed")
            for which in order:
                if which == "seed":
                    seed_s.append(run_seed(libpq, work / "seed-data", source))
                else:
                    land_s.append(run_land(work / "land-data", source, files))
            print(f"round {n + 1}: seed {seed_s[-1]:.3f}s  land {land_s[-1]:.3f}s  "
                  f"(first: {order[0]}; load average {load_average()})")
    finally:
        if server is not None:
            server.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    seed, land = statistics.median(seed_s), statistics.median(land_s)
    print(f"seed (execute_values into PostgreSQL staging): median {seed:.3f}s  {files / seed:,.0f} files/s")
    print(f"land (amzn-assets land, SQLite ledger):        median {land:.3f}s  {files / land:,.0f} files/s")
    print(f"land speed / seed speed: {seed / land:.2f}x (target >= 1.5x); load average after: {load_average()}")


if __name__ == "__main__":
    main()
