"""An empty partition is stored as absence on every backend that runs here (local parquet, S3
parquet on moto, PostgreSQL): a backfill over mostly empty days writes nothing for them (parquet: no
rows in the month's file, and no file for a month without rows), and re-materializing a day that
became empty removes what was there (issue 14, point 4). Redshift:
the same delete-the-range statement as PostgreSQL (tested in test_redshift_backend)."""

from __future__ import annotations

import datetime as dt
import uuid

import boto3
import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from amzn_assets import tables
from amzn_assets.db_urls import libpq_url
from amzn_assets.storage.contract import StorageSpec
from amzn_assets.backends.local.io_manager import ParquetIOManager
from amzn_assets.transforms.reviews import datetime_rows
from amzn_assets_tests.warehouse_files import days_stored

DAYS = [f"2018-01-{d:02d}" for d in range(1, 11)]  # ten days, data on two
SPEC = StorageSpec(tables.CLIMATE.partition_column, tables.CLIMATE.primary_key, tables.CLIMATE.mode)


def climate_rows(days: list[str]) -> pa.Table:
    columns = {f.name: pa.nulls(len(days), f.type) for f in tables.CLIMATE_SCHEMA}
    columns["station_id"] = pa.array(["S1"] * len(days))
    columns["date"] = pa.array([dt.date.fromisoformat(d) for d in days], pa.date32())
    return pa.table(columns, schema=tables.CLIMATE_SCHEMA)


def rows_read(store, keys) -> int:
    return store.read_partitions("climate", SPEC, keys).read_all().num_rows


def exercise(store, stored_days) -> None:
    """stored_days(): the days the backend holds anything for."""
    assert store.write_partitions("climate", SPEC, DAYS, climate_rows(["2018-01-02", "2018-01-07"])) == {
        d: (1 if d in ("2018-01-02", "2018-01-07") else 0) for d in DAYS
    }
    assert stored_days() == {"2018-01-02", "2018-01-07"}
    # 2018-01-07 became empty: writing the range again removes it.
    store.write_partitions("climate", SPEC, DAYS, climate_rows(["2018-01-02"]))
    assert stored_days() == {"2018-01-02"}
    assert rows_read(store, DAYS) == 1 and rows_read(store, ["2018-01-07"]) == 0


def test_local_parquet(tmp_path):
    store = ParquetIOManager(base_path=str(tmp_path / "warehouse")).create_io_manager(None)
    exercise(store, lambda: days_stored(tmp_path / "warehouse" / "climate"))
    # 2018-01-02 emptied too: the month has no rows left, so it has no file.
    store.write_partitions("climate", SPEC, DAYS, climate_rows([]))
    assert not list((tmp_path / "warehouse" / "climate").glob("*.parquet"))


def test_s3_parquet(aws):
    bucket = f"empty-{uuid.uuid4().hex[:8]}"
    client = boto3.client("s3")
    client.create_bucket(Bucket=bucket)
    from dagster_aws.s3 import S3Resource

    store = ParquetIOManager(base_path=f"s3://{bucket}/lake", s3=S3Resource(endpoint_url=aws)).create_io_manager(None)

    def stored_days():
        listed = client.list_objects_v2(Bucket=bucket, Prefix="lake/climate/").get("Contents", [])
        days = set()
        for o in listed:
            body = client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
            days |= {str(d) for d in pq.read_table(pa.BufferReader(body), columns=["date"])["date"].to_pylist()}
        return days

    exercise(store, stored_days)


def test_postgres(postgres_url):
    from amzn_assets.backends.postgres import database as pg_database
    from amzn_assets.backends.postgres import writes as pg_writes
    from amzn_assets.backends.postgres.io_manager import PostgresIOManager

    schema = f"t_{uuid.uuid4().hex[:10]}"
    store = PostgresIOManager(url=postgres_url, db_schema=schema)
    conn = pg_database.connect(postgres_url)
    try:
        pg_database.ensure_schema(conn, schema)
        station = {f.name: [None] for f in tables.STATIONS_SCHEMA} | {"station_id": ["S1"], "seen_date": [dt.date(2018, 1, 1)]}
        pg_writes.upsert(conn, schema, "stations", ["station_id"], "seen_date", [pa.table(station, schema=tables.STATIONS_SCHEMA)])
        calendar = datetime_rows([dt.date.fromisoformat(d) for d in DAYS])
        pg_writes.upsert(conn, schema, "datetime", ["date"], "date", [calendar])

        def stored_days():
            with conn.cursor() as cur:
                cur.execute(f'SELECT DISTINCT "date"::text FROM "{schema}".climate')
                found = {r[0] for r in cur.fetchall()}
            conn.rollback()
            return found

        exercise(store, stored_days)
    finally:
        conn.close()
        with psycopg2.connect(libpq_url(postgres_url)) as admin, admin.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
