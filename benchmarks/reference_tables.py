"""Benchmark: the reference tables (product_catalog) and the union users query as `products`.

    .venv/bin/python benchmarks/reference_tables.py [--catalog 1000000] [--seen 100000] [--days 30]

A synthetic product catalog of --catalog products (metadata-like text), of which --seen were
reviewed, spread over --days daily `products` partitions. Measured, on parquet (a temporary
folder) and on a throwaway PostgreSQL 16 (the pgserver wheel, fsync off):

  write_whole   the catalog replaced whole (parquet: one file; PostgreSQL: DELETE + binary COPY)
  seen only     SELECT count(*) over the daily dimension alone (the upsert of its partitions)
  union         SELECT count(*) FROM products: the daily dimension plus the catalog rows it lacks
  flag          SELECT count(*) FROM products WHERE has_reviews
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import pyarrow as pa
from upath import UPath

from amzn_assets import tables
from amzn_assets.backends.postgres import database as pg_database
from amzn_assets.backends.postgres import writes as pg_writes
from amzn_assets.storage.contract import StorageSpec
from amzn_assets.backends.local.io_manager import PartitionedParquetIOManager
from amzn_assets.backends.local.query import run_query, view_sql
from amzn_assets.backends.postgres.query import run_postgres_query


def catalog(n: int) -> pa.Table:
    asins = pa.array([f"B{i:09d}" for i in range(n)])
    text = pa.array([f"Product number {i} with a title of some length" for i in range(n)])
    columns = {f.name: pa.nulls(n, f.type) for f in tables.PRODUCT_CATALOG.schema}
    columns |= {"asin": asins, "title": text, "description": text, "price": pa.array([float(i % 500) for i in range(n)])}
    return pa.table(columns, schema=tables.PRODUCT_CATALOG.schema)


def seen_days(products: pa.Table, seen: int, days: int) -> list[tuple[str, pa.Table]]:
    """--seen products reviewed, spread over --days daily partitions (each product on one day)."""
    start = dt.date(2018, 1, 1)
    parts = []
    for d in range(days):
        rows = products.slice(0, seen).filter(pa.array([i % days == d for i in range(seen)]))
        day = start + dt.timedelta(days=d)
        rows = rows.append_column("has_metadata", pa.array([True] * rows.num_rows)).append_column(
            "seen_date", pa.array([day] * rows.num_rows, pa.date32())
        )
        parts.append((day.isoformat(), rows.cast(tables.PRODUCTS_SCHEMA)))
    return parts


def timed(label: str, fn, repeat: int = 3):
    best, result = None, None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    print(f"  {label:<44} {best * 1000:9.0f} ms   -> {result}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--catalog", type=int, default=1_000_000)
    parser.add_argument("--seen", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {os.getloadavg()[0]:.1f}")
    products = catalog(args.catalog)
    parts = seen_days(products, args.seen, args.days)
    spec = tables.PRODUCT_CATALOG
    storage = StorageSpec(spec.partition_column, spec.primary_key, spec.mode)
    seen_storage = StorageSpec("seen_date", ("asin",), "upsert")
    print(f"{args.catalog:,} products in the catalog, {args.seen:,} of them seen over {args.days} days")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print("parquet (DuckDB):")
        store = PartitionedParquetIOManager(base_path=UPath(work / "warehouse"))
        for key, rows in parts:
            store.write_partitions("products", seen_storage, [key], rows)
        timed("write_whole product_catalog", lambda: store.write_whole("product_catalog", storage, products))
        folder = work / "warehouse" / "products"
        timed("seen only: count(*)", lambda: run_query(work / "warehouse", f"SELECT count(*) FROM ({view_sql(tables.PRODUCTS, folder)})").rows[0][0])
        timed("union: SELECT count(*) FROM products", lambda: run_query(work / "warehouse", "SELECT count(*) FROM products").rows[0][0])
        timed("flag: ... WHERE has_reviews", lambda: run_query(work / "warehouse", "SELECT count(*) FROM products WHERE has_reviews").rows[0][0])

        import pgserver

        server = pgserver.get_server(work / "pg", cleanup_mode="delete")
        url = server.get_uri()
        admin = pg_database.connect(url)
        admin.autocommit = True
        admin.cursor().execute("ALTER SYSTEM SET fsync = off")
        admin.cursor().execute("SELECT pg_reload_conf()")
        admin.close()
        print("PostgreSQL 16 (pgserver, fsync off):")
        conn = pg_database.connect(url)
        pg_database.ensure_schema(conn, "bench")
        pg_writes.upsert(conn, "bench", "products", ("asin",), "seen_date", [rows for _, rows in parts])
        timed("write_whole product_catalog (DELETE + COPY)", lambda: pg_writes.replace_table(conn, "bench", "product_catalog", ("asin",), products))
        conn.close()
        timed("seen only: SELECT count(*) FROM bench.products (table)", lambda: run_postgres_query(url, "bench", 'SELECT count(*) FROM "bench"."products"').rows[0][0])
        timed("union: SELECT count(*) FROM products", lambda: run_postgres_query(url, "bench", "SELECT count(*) FROM products").rows[0][0])
        timed("flag: ... WHERE has_reviews", lambda: run_postgres_query(url, "bench", "SELECT count(*) FROM products WHERE has_reviews").rows[0][0])
        server.cleanup()


if __name__ == "__main__":
    main()
