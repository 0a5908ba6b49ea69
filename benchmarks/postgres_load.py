"""Benchmark: 1,000,000 reviews into the PostgreSQL star schema, against the seed's method and bare COPY.

    .venv/bin/python benchmarks/postgres_load.py [--reviews 1000000] [--days 120]

On one throwaway PostgreSQL 16 (the pgserver wheel; fsync off for all three methods alike), with the
same review rows:
  pipeline   materialize landed_reviews, users, products, datetime, reviews_fact over the whole range
             in one run with AMZN_BACKEND=postgres (COPY, dimension upserts, foreign keys, indexes);
             peak RSS measured in a fresh (spawned) process, for the first 31 days and for the whole range
  seed       the older project's method: psycopg2.extras.execute_values batches into a staging table
  bare COPY  one COPY of the flat fact rows into an UNLOGGED table without keys: the machine's limit
"""

from __future__ import annotations

import argparse
import gzip
import io
import multiprocessing
import os
import platform
import re
import resource
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "amzn_assets_tests" / "fixtures" / "All_Beauty_5.json.gz"
START = date(2018, 1, 1)


def make_dump(path: Path, reviews: int, days: int) -> None:
    """Real All Beauty lines, cycled, with unique reviewer ids and dates spread over `days`."""
    lines = [ln for ln in gzip.decompress(FIXTURE.read_bytes()).splitlines() if ln.strip()]
    base = int(time.mktime(START.timetuple())) - time.timezone
    reviewer = re.compile(rb'"reviewerID": "[^"]*"')
    stamp = re.compile(rb'"unixReviewTime": \d+')
    with gzip.open(path, "wb", compresslevel=1) as out:
        for n in range(reviews):
            line = reviewer.sub(b'"reviewerID": "B%013d"' % n, lines[n % len(lines)], count=1)
            line = stamp.sub(b'"unixReviewTime": %d' % (base + (n % days) * 86400), line, count=1)
            out.write(line + b"\n")


def pipeline(data_dir: str, url: str, first: str, last: str, queue) -> None:
    from dagster import DagsterInstance, materialize

    from amzn_assets.definitions import all_assets, resources_for

    started = time.perf_counter()
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            all_assets,
            selection=["landed_reviews", "users", "products", "datetime", "reviews_fact"],
            resources=resources_for("postgres", data_dir, postgres_url=url, ledger_url=os.environ["AMZN_LEDGER_URL"]),
            instance=instance,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
    assert result.success
    queue.put((time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def run_pipeline(data_dir: str, url: str, first: str, last: str) -> tuple[float, float]:
    queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=pipeline, args=(data_dir, url, first, last, queue))
    child.start()
    seconds, peak_mb = queue.get()
    child.join()
    return seconds, peak_mb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    args = parser.parse_args()

    import pgserver
    import psycopg2
    import psycopg2.extras
    import pyarrow.csv as pacsv

    from amzn_assets.landing.bulk import import_dump
    from amzn_assets.landing.intake import Lander
    from amzn_assets.landing.readers import LandedReader
    from amzn_assets.settings import DataDirs
    from amzn_assets.transforms.reviews import reviews_fact

    work = Path(tempfile.mkdtemp(prefix="amzn-pg-"))
    server = pgserver.get_server(work / "pg", cleanup_mode="stop")
    libpq = server.get_uri()
    url = libpq.replace("postgresql://", "postgresql+psycopg2://", 1)
    conn = psycopg2.connect(libpq)
    conn.autocommit = True
    for statement in ("ALTER SYSTEM SET fsync = off", "ALTER SYSTEM SET synchronous_commit = off", "SELECT pg_reload_conf()"):
        conn.cursor().execute(statement)
    conn.close()

    dirs = DataDirs(work / "data")
    dump = work / "reviews.json.gz"
    t0 = time.perf_counter()
    make_dump(dump, args.reviews, args.days)
    print(f"dump of {args.reviews:,} reviews over {args.days} days written in {time.perf_counter() - t0:.1f}s")
    os.environ["AMZN_LEDGER_URL"] = f"sqlite:///{dirs.landed / 'ledger.sqlite'}"  # ledger beside the segments
    report = import_dump(Lander(dirs), dump, category="all_beauty")
    print(f"bulk import: {report.rows:,} rows in {report.seconds:.1f}s ({report.rows_per_s:,.0f} rows/s)")

    first = START.isoformat()
    month_end = (START + timedelta(days=30)).isoformat()
    last = (START + timedelta(days=args.days - 1)).isoformat()
    month_s, month_mb = run_pipeline(str(dirs.root), url, first, month_end)
    full_s, full_mb = run_pipeline(str(dirs.root), url, first, last)
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM reviews_fact")
        loaded = cur.fetchone()[0]

    lander = Lander(dirs)
    keys = [(START + timedelta(days=d)).isoformat() for d in range(args.days)]
    fact = reviews_fact(LandedReader(lander.ledger, lander.segments).reviews(keys)[0])
    columns = ", ".join(fact.column_names)
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE seed_staging AS SELECT {columns} FROM reviews_fact WITH NO DATA")
        cur.execute(f"CREATE UNLOGGED TABLE bare_copy AS SELECT {columns} FROM reviews_fact WITH NO DATA")
    rows = list(zip(*[fact[c].to_pylist() for c in fact.column_names]))
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        t0 = time.perf_counter()
        for start in range(0, len(rows), 10_000):
            psycopg2.extras.execute_values(cur, f"INSERT INTO seed_staging ({columns}) VALUES %s", rows[start : start + 10_000], page_size=1000)
        conn.commit()
        seed_s = time.perf_counter() - t0
    del rows
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        buffer = io.BytesIO()
        pacsv.write_csv(fact, buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        t0 = time.perf_counter()
        cur.copy_expert(f"COPY bare_copy ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        conn.commit()
        copy_s = time.perf_counter() - t0
    server.cleanup()

    n = fact.num_rows
    pipe, seed, bare = n / full_s, n / seed_s, n / copy_s
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 16 (pgserver, fsync off)")
    print(f"unique reviews: {n:,}; reviews_fact rows after the pipeline: {loaded:,}")
    print(f"pipeline (5 assets, {args.days} daily partitions, one run): {full_s:.1f}s -> {pipe:,.0f} reviews/s, peak RSS {full_mb:,.0f} MB")
    print(f"pipeline over the first 31 days only:                   {month_s:.1f}s, peak RSS {month_mb:,.0f} MB")
    print(f"seed method (execute_values into staging):  {seed_s:.1f}s -> {seed:,.0f} rows/s")
    print(f"bare COPY into an unlogged table:           {copy_s:.1f}s -> {bare:,.0f} rows/s")
    print(f"pipeline / bare COPY = {pipe / bare:.2f}x; pipeline / seed = {pipe / seed:.1f}x")


if __name__ == "__main__":
    main()
