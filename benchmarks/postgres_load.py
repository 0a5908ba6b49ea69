"""Benchmark: the review pipeline into the PostgreSQL star schema, against the seed's method and COPY.

    .venv/bin/python benchmarks/postgres_load.py [--reviews 1000000] [--days 120] [--small-runs 100]

One throwaway PostgreSQL 16 (the pgserver wheel; fsync off, the same for every method), the same
review rows (real All Beauty lines, cycled, one reviewer each, spread over --days days):

  pipeline     `import` of the dump (landing: parse, segments, ledger), then one run of landed_reviews,
               users, products, datetime, reviews_fact over the whole range (AMZN_BACKEND=postgres,
               an on-disk instance from the repository's dagster.yaml, in a fresh spawned process: its peak RSS is measured,
               also for a run over the first 31 days only), into an empty schema; with the run's
               per-step profile (wall time, of which the IO manager's writes); and the same run again
               with DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS=1 (docs/scaling.md)
  seed         the older project's method: psycopg2.extras.execute_values batches of the fact rows
               into a staging table without keys
  keyed COPY   one binary COPY of exactly the rows the pipeline left in each of reviews_fact, users,
               products and datetime into empty copies of those tables (same keys, indexes, logged):
               the limit for this schema, data already encoded in memory
  bare COPY    the fact rows into an UNLOGGED table without keys (the machine's limit)
  small runs   --small-runs runs of one day each with --small-reviews reviews (the stream sensor's
               pattern), each as a new process would start it (no pooled connection, no schema known)

Dagster records one materialization per asset and day (and the asset checks' evaluations): the
pipeline figure includes that bookkeeping; the per-step profile shows how much of each step it is.
"""

from __future__ import annotations

import argparse
import sys
import gzip
import io
import multiprocessing
import os
import platform
import re
import resource
import statistics
import tempfile
import time
import warnings
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # amzn_assets_tests.deployment: the test suite's resources_for

warnings.filterwarnings("ignore")
REPO = Path(__file__).resolve().parents[1]
FIXTURE = REPO / "amzn_assets_tests" / "fixtures" / "All_Beauty_5.json.gz"
START = date(2018, 1, 1)
REVIEW_ASSETS = ["landed_reviews", "users", "products", "datetime", "reviews_fact"]
STAR = ["reviews_fact", "users", "products", "datetime"]
SUBSET_PLANNED = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def make_dump(path: Path, reviews: int, days: int, start: date = START, offset: int = 0) -> None:
    """Real All Beauty lines, cycled, with unique reviewer ids and dates spread over `days`."""
    lines = [ln for ln in gzip.decompress(FIXTURE.read_bytes()).splitlines() if ln.strip()]
    base = int(time.mktime(start.timetuple())) - time.timezone
    reviewer = re.compile(rb'"reviewerID": "[^"]*"')
    stamp = re.compile(rb'"unixReviewTime": \d+')
    with gzip.open(path, "wb", compresslevel=1) as out:
        for n in range(reviews):
            line = reviewer.sub(b'"reviewerID": "B%013d"' % (n + offset), lines[n % len(lines)], count=1)
            line = stamp.sub(b'"unixReviewTime": %d' % (base + (n % days) * 86400), line, count=1)
            out.write(line + b"\n")


def resources(data_dir: str, url: str, schema: str) -> dict:
    from amzn_assets_tests.deployment import resources_for
    from amzn_assets.backends.postgres.io_manager import PostgresIOManager

    found = resources_for("postgres", data_dir, postgres_url=url, ledger_url=os.environ["AMZN_LEDGER_URL"])
    return found | {"io_manager": PostgresIOManager(url=url, db_schema=schema)}


def timed_writes(totals: dict) -> None:
    """Add each IO manager write's seconds to totals[asset] (the per-step profile)."""
    from amzn_assets.backends.local.io_manager import PartitionedParquetIOManager
    from amzn_assets.backends.postgres.io_manager import PostgresIOManager

    for cls in (PostgresIOManager, PartitionedParquetIOManager):
        original = cls.write_partitions

        def write(self, name, spec, keys, obj, _original=original):
            started = time.perf_counter()
            try:
                return _original(self, name, spec, keys, obj)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - started

        cls.write_partitions = write


def pipeline(data_dir: str, url: str, schema: str, first: str, last: str, queue) -> None:
    from dagster import DagsterEventType, DagsterInstance, materialize

    from amzn_assets_tests.deployment import all_assets

    writes: dict = {}
    timed_writes(writes)
    started = time.perf_counter()
    with users_instance(data_dir, schema) as instance:
        result = materialize(
            all_assets,
            selection=REVIEW_ASSETS,
            resources=resources(data_dir, url, schema),
            instance=instance,
            run_config=QUIET,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
        seconds = time.perf_counter() - started
        assert result.success
        steps = {
            e.step_key: e.event_specific_data.duration_ms / 1000
            for e in result.all_events
            if e.event_type == DagsterEventType.STEP_SUCCESS
        }
        events = len(instance.all_logs(result.run_id))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, peak_mb, steps, writes, events))


def users_instance(data_dir: str, name: str):
    """An on-disk instance made from the repository's dagster.yaml (what `make` sets up), in this
    (spawned) process: the in-memory instance hid the cost of storing Dagster's events."""
    from pathlib import Path

    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    home = Path(data_dir).parent / f"dagster-home-{name}"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text((Path(__file__).resolve().parents[1] / "dagster.yaml").read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))


def spawned(target, *args):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=target, args=(*args, queue))
    child.start()
    out = queue.get()
    child.join()
    return out


def small_runs(data_dir: str, url: str, schema: str, keys: list[str], queue) -> None:
    """One run per day; before each, forget the pooled connection and the known schema, as a new
    run process would. Returns per-run seconds and the per-run PostgreSQL overheads."""
    from dagster import DagsterInstance, materialize

    from amzn_assets_tests.deployment import all_assets
    from amzn_assets.backends.postgres import database as pg_database

    per_run = []
    with users_instance(data_dir, f"{schema}-small") as instance:
        for key in keys:
            for conn in pg_database._pool.values():
                conn.close()
            pg_database._pool.clear()
            pg_database._current.clear()
            started = time.perf_counter()
            result = materialize(
                all_assets, selection=REVIEW_ASSETS, resources=resources(data_dir, url, schema),
                instance=instance, partition_key=key, run_config=QUIET,
            )
            assert result.success
            per_run.append(time.perf_counter() - started)
    queue.put((per_run, overheads(url, schema)))


def overheads(url: str, schema: str, repeat: int = 20) -> dict:
    """Milliseconds per run of what a run pays once on PostgreSQL, before and after this work."""
    from psycopg2 import sql

    from amzn_assets.backends.postgres import database as pg_database

    def ms(fn) -> float:
        started = time.perf_counter()
        for _ in range(repeat):
            fn()
        return (time.perf_counter() - started) / repeat * 1000

    conn = pg_database.connect(url)
    out = {
        "connect (a new connection)": ms(lambda: pg_database.connect(url).close()),
        "schema: run the DDL (before)": ms(lambda: pg_database.ensure_schema(conn, schema)),
        "schema: one catalog query (now)": ms(lambda: pg_database._schema_is_current(conn, schema)),
    }

    def temp_per_transaction():
        with conn, conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE TEMP TABLE _t (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(sql.Identifier(schema, "users")))

    def temp_reused():
        with conn, conn.cursor() as cur:
            cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS _r (LIKE {} INCLUDING DEFAULTS)").format(sql.Identifier(schema, "users")))
            cur.execute("TRUNCATE _r")

    out["temp table created per upsert (before)"] = ms(temp_per_transaction) * 3  # users, products, datetime
    out["temp table kept per session (now)"] = ms(temp_reused) * 3
    conn.close()
    return out


def bare_copies(libpq: str, schema: str) -> tuple[float, float, int]:
    """(keyed COPY seconds, unlogged keyless COPY seconds, fact rows): binary COPY of the rows the
    pipeline left, into empty same-keyed copies of the star tables, and of the facts into an unlogged
    table without keys."""
    import psycopg2

    data: dict[str, bytes] = {}
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        for name in STAR:
            buffer = io.BytesIO()
            cur.copy_expert(f'COPY "{schema}"."{name}" TO STDOUT WITH (FORMAT binary)', buffer)
            data[name] = buffer.getvalue()
        cur.execute("CREATE SCHEMA limit_keyed")
        for name in STAR:
            cur.execute(f'CREATE TABLE limit_keyed."{name}" (LIKE "{schema}"."{name}" INCLUDING ALL)')
        cur.execute(f'CREATE UNLOGGED TABLE limit_keyed.bare (LIKE "{schema}".reviews_fact)')
        cur.execute(f'SELECT count(*) FROM "{schema}".reviews_fact')
        rows = cur.fetchone()[0]
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        for name in STAR:
            cur.copy_expert(f'COPY limit_keyed."{name}" FROM STDIN WITH (FORMAT binary)', io.BytesIO(data[name]))
        conn.commit()
        keyed = time.perf_counter() - started
        started = time.perf_counter()
        cur.copy_expert("COPY limit_keyed.bare FROM STDIN WITH (FORMAT binary)", io.BytesIO(data["reviews_fact"]))
        conn.commit()
        bare = time.perf_counter() - started
    return keyed, bare, rows


def storage_alone(url: str, dirs, days: int) -> dict[str, float]:
    """Seconds of each star table's write through the PostgreSQL IO manager (write_partitions:
    binary COPY, MERGE upserts, reference checks), the chunks built in memory beforehand: the
    pipeline's database work without Dagster, staging files, transforms or checks."""
    import pyarrow as pa

    from amzn_assets import tables
    from amzn_assets.landing.intake import Lander
    from amzn_assets.landing.readers import LandedReader
    from amzn_assets.storage.contract import StorageSpec
    from amzn_assets.backends.postgres.io_manager import PostgresIOManager
    from amzn_assets.transforms import reviews as transform

    lander = Lander(dirs)
    reader = LandedReader(lander.ledger, lander.segments)
    metadata = reader.product_metadata()
    keys = [(START + timedelta(days=d)).isoformat() for d in range(days)]
    months = [keys[i : i + 31] for i in range(0, len(keys), 31)]
    chunks: dict[str, list[pa.Table]] = {name: [] for name in STAR}
    for month in months:
        landed = reader.reviews(month)[0]
        chunks["users"].append(transform.users(landed))
        chunks["products"].append(transform.products(landed, metadata))
        chunks["datetime"].append(transform.datetime_rows([date.fromisoformat(k) for k in month]))
        chunks["reviews_fact"].append(transform.reviews_fact(landed))
        del landed
    store = PostgresIOManager(url=url, db_schema="alone")
    seconds = {}
    for name in ["users", "products", "datetime", "reviews_fact"]:
        spec = tables.TABLES_BY_NAME[name]
        started = time.perf_counter()
        store.write_partitions(name, StorageSpec(spec.partition_column, spec.primary_key, spec.mode), keys, chunks.pop(name))
        seconds[name] = time.perf_counter() - started
    return seconds


def seed_method(libpq: str, schema: str, dirs, days: int) -> float:
    """execute_values of the fact rows (as the pipeline builds them) into an unkeyed staging table."""
    import psycopg2
    import psycopg2.extras

    from amzn_assets.landing.intake import Lander
    from amzn_assets.landing.readers import LandedReader
    from amzn_assets.transforms.reviews import reviews_fact

    lander = Lander(dirs)
    keys = [(START + timedelta(days=d)).isoformat() for d in range(days)]
    fact = reviews_fact(LandedReader(lander.ledger, lander.segments).reviews(keys)[0])
    columns = ", ".join(fact.column_names)
    rows = list(zip(*[fact[c].to_pylist() for c in fact.column_names]))
    del fact
    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE TABLE seed_staging AS SELECT {columns} FROM "{schema}".reviews_fact WITH NO DATA')
        conn.commit()
        started = time.perf_counter()
        for start in range(0, len(rows), 10_000):
            psycopg2.extras.execute_values(cur, f"INSERT INTO seed_staging ({columns}) VALUES %s", rows[start : start + 10_000], page_size=1000)
        conn.commit()
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reviews", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--small-runs", type=int, default=100)
    parser.add_argument("--small-reviews", type=int, default=1000)
    args = parser.parse_args()

    import pgserver
    import psycopg2

    from amzn_assets.landing.bulk import import_dump
    from amzn_assets.landing.intake import Lander
    from amzn_assets.data_dirs import DataDirs

    work = Path(tempfile.mkdtemp(prefix="amzn-pg-"))
    server = pgserver.get_server(work / "pg", cleanup_mode="delete")
    libpq = server.get_uri()
    url = libpq.replace("postgresql://", "postgresql+psycopg2://", 1)
    conn = psycopg2.connect(libpq)
    conn.autocommit = True
    conn.cursor().execute("ALTER SYSTEM SET fsync = off")
    conn.cursor().execute("SELECT pg_reload_conf()")
    conn.close()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL 16 (pgserver, fsync off)")

    dirs = DataDirs(work / "data")
    os.environ["AMZN_LEDGER_URL"] = f"sqlite:///{dirs.landed / 'ledger.sqlite'}"  # ledger beside the segments
    dump = work / "reviews.json.gz"
    make_dump(dump, args.reviews, args.days)
    report = import_dump(Lander(dirs), dump, category="all_beauty")
    print(f"import: {report.rows:,} rows in {report.seconds:.1f}s ({report.rows_per_s:,.0f} rows/s; {load()})")

    first, last = START.isoformat(), (START + timedelta(days=args.days - 1)).isoformat()
    month_end = (START + timedelta(days=30)).isoformat()
    month_s, month_mb, *_ = spawned(pipeline, str(dirs.root), url, "month", first, month_end)
    print(f"run over the first 31 days: {month_s:.1f}s, peak RSS {month_mb:,.0f} MB ({load()})")
    run_s, full_mb, steps, writes, events = spawned(pipeline, str(dirs.root), url, "star", first, last)
    print(f"run over all {args.days} days: {run_s:.1f}s, peak RSS {full_mb:,.0f} MB, {events:,} Dagster events ({load()})")
    os.environ[SUBSET_PLANNED] = "1"  # docs/scaling.md: one planned event per asset instead of one per asset and day
    subset_s, _, _, _, subset_events = spawned(pipeline, str(dirs.root), url, "subset_planned", first, last)
    del os.environ[SUBSET_PLANNED]
    print(f"the same run with {SUBSET_PLANNED}=1: {subset_s:.1f}s, {subset_events:,} Dagster events ({load()})")

    with psycopg2.connect(libpq) as conn, conn.cursor() as cur:
        sizes = {}
        for name in STAR:
            cur.execute(f'SELECT count(*), pg_total_relation_size(\'star."{name}"\') FROM star."{name}"')
            sizes[name] = cur.fetchone()
    keyed_s, bare_s, n = bare_copies(libpq, "star")
    print(f"keyed COPY of the same rows into the four star tables: {keyed_s:.1f}s ({load()})")
    alone = storage_alone(url, dirs, args.days)
    print(f"the IO manager's writes alone: {sum(alone.values()):.1f}s ({load()})")
    seed_s = seed_method(libpq, "star", dirs, args.days)
    print(f"seed method: {seed_s:.1f}s ({load()})")

    pipe_s = report.seconds + run_s
    print()
    print(f"rows: {n:,} reviews in reviews_fact")
    print(f"1. pipeline (import + one run of 5 assets, {args.days} days): {pipe_s:.1f}s -> {n / pipe_s:,.0f} reviews/s "
          f"(import {report.seconds:.1f}s + run {run_s:.1f}s; the run alone {n / run_s:,.0f} reviews/s)")
    print(f"2. seed method (execute_values into staging):  {seed_s:.1f}s -> {n / seed_s:,.0f} rows/s")
    print(f"3. keyed COPY limit (4 tables, binary):       {keyed_s:.1f}s -> {n / keyed_s:,.0f} reviews/s")
    print(f"   bare COPY into an unlogged keyless table:  {bare_s:.1f}s -> {n / bare_s:,.0f} rows/s")
    print(f"ratios: pipeline / seed = {seed_s / pipe_s:.2f}x (run alone {seed_s / run_s:.2f}x; target >= 3x); "
          f"pipeline / keyed COPY = {keyed_s / pipe_s:.2f}x (run alone {keyed_s / run_s:.2f}x; target >= 0.7x); "
          f"pipeline / bare COPY = {bare_s / pipe_s:.2f}x")
    for what, ratio, target in (("pipeline / seed", seed_s / pipe_s, 3.0), ("pipeline / keyed COPY", keyed_s / pipe_s, 0.7)):
        verdict = "met" if ratio >= target else f"NOT met: {target / ratio:.1f}x short (see the per-step profile below)"
        print(f"target {what} >= {target}x: {verdict}")
    print(f"peak RSS: {month_mb:,.0f} MB for 31 days, {full_mb:,.0f} MB for {args.days} days")
    print("table sizes (rows, MB with indexes, bytes per row): " + "; ".join(
        f"{name} {rows:,} {size / 1e6:,.0f} MB {size / max(rows, 1):,.0f} B" for name, (rows, size) in sizes.items()))
    print("4. per-step profile of the run (wall s; of which the IO manager's write):")
    print(f"   {'import':<15} {report.seconds:6.2f}")
    for step in REVIEW_ASSETS:
        print(f"   {step:<15} {steps.get(step, 0):6.2f}   write {writes.get(step, 0):6.2f}")
    print(f"   {'(run overhead)':<15} {run_s - sum(steps.values()):6.2f}   (plan, run start/end, outside the steps)")
    print(f"   with {SUBSET_PLANNED}=1 the run took {subset_s:.1f}s ({subset_events:,} events instead of {events:,}): "
          f"pipeline / seed = {seed_s / (report.seconds + subset_s):.2f}x")
    print("   each table's write alone, chunks prepared in memory (no Dagster, staging, transforms, checks): "
          + ", ".join(f"{k} {v:.2f}s" for k, v in alone.items())
          + f"; total {sum(alone.values()):.2f}s = {keyed_s / sum(alone.values()):.2f}x the keyed COPY limit")

    if args.small_runs:
        small_start = START + timedelta(days=args.days + 30)
        small_dump = work / "small.json.gz"
        make_dump(small_dump, args.small_runs * args.small_reviews, args.small_runs, small_start, offset=10**9)
        import_dump(Lander(dirs), small_dump, category="all_beauty")
        keys = [(small_start + timedelta(days=d)).isoformat() for d in range(args.small_runs)]
        per_run, costs = spawned(small_runs, str(dirs.root), url, "star", keys)
        print()
        print(f"5. {args.small_runs} small runs (one day, {args.small_reviews:,} reviews each, 5 assets; {load()}):")
        print(f"   per run: median {statistics.median(per_run) * 1000:,.0f} ms, mean {statistics.mean(per_run) * 1000:,.0f} ms, "
              f"first {per_run[0] * 1000:,.0f} ms; total {sum(per_run):.1f}s -> {len(per_run) * args.small_reviews / sum(per_run):,.0f} reviews/s")
        for what, value in costs.items():
            print(f"   {what:<40} {value:7.1f} ms per run")
    server.cleanup()


if __name__ == "__main__":
    main()
