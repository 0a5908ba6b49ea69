"""`stations` and `products` as users query them hold every landed entity, flagged when a fact names
it (issue 14, point 2): the daily dimension plus the reference tables station_list and
product_catalog, on parquet (local and S3 through moto), PostgreSQL, and the Redshift IO manager's
statements run on PostgreSQL."""

from __future__ import annotations

import uuid

import duckdb
import psycopg2
import pyarrow as pa
import pytest
from dagster import AssetKey, DagsterInstance, build_output_context, materialize

from amzn_assets import tables
from amzn_assets.db_urls import libpq_url
from amzn_assets.generate.noaa import Station, station_list
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.readers import LandedReader
from amzn_assets.backends.local.query import run_query, table_counts
from amzn_assets.backends.postgres.query import run_postgres_query
from amzn_assets.warehouse.whole_dimensions import BY_NAME, union_sql
from amzn_assets.wiring.catalog import table_metadata
from amzn_assets_tests.conftest import upload
from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets_tests.deployment import query_from_env
from amzn_assets_tests.backends.test_postgres_backend import in_schema, pg_schema  # noqa: F401 (a fixture)
from amzn_assets_tests.backends.test_redshift_backend import manager, s3  # noqa: F401 - s3 is a fixture
from amzn_assets_tests.stream.test_sensors import stream

TWO_DAYS = {"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-02"}
NEW_STATION = Station("USW00099999", 40.5, -75.25, -999.9, "PA", "NEVER REPORTS AP")


def landed_entities(dirs, ledger_url: str | None = None) -> tuple[set[str], set[str]]:
    """The station ids of the landed station list and the asins of the landed product metadata."""
    lander = Lander(dirs, Ledger(ledger_url) if ledger_url else None)
    reader = LandedReader(lander.ledger, lander.segments)
    return set(reader.station_list()["station_id"].to_pylist()), set(reader.product_metadata()["asin"].to_pylist())


def assert_whole(query, listed: set[str], key: str, dimension: str, facts: str) -> None:
    """`dimension` holds each listed and each fact-named entity once; the flag is true exactly for
    the fact-named ones, which keep their seen_date; the others have none and are in the list."""
    spec = BY_NAME[dimension]
    rows = query(f'SELECT {key}, "{spec.matched}", seen_date, "{spec.flag}" FROM {dimension}').rows
    keys = [r[0] for r in rows]
    assert len(keys) == len(set(keys)), dimension
    named = {r[0] for r in query(f"SELECT DISTINCT {key} FROM {facts}").rows}
    assert set(keys) == listed | named
    assert {r[0] for r in rows if r[3]} == named
    assert all(r[2] is not None for r in rows if r[3])
    assert all(r[2] is None and r[1] is True for r in rows if not r[3])
    assert listed - named, f"the sample lists {dimension} no fact names: the test would prove nothing"


def assert_both_whole(query, dirs, ledger_url: str | None = None) -> None:
    stations, products = landed_entities(dirs, ledger_url)
    assert_whole(query, stations, "station_id", "stations", "climate")
    assert_whole(query, products, "asin", "products", "reviews_fact")


# -- the union itself, on DuckDB ------------------------------------------------------------------------


def test_the_union_with_either_side_missing():
    con = duckdb.connect()
    seen = pa.Table.from_pylist(
        [{"station_id": "S1", "name": "Seen", "in_station_list": False, "seen_date": __import__("datetime").date(2018, 1, 2)}],
        schema=tables.STATIONS_SCHEMA,
    )
    listed = pa.Table.from_pylist([{"station_id": "S1", "name": "Listed"}, {"station_id": "S2", "name": "Only listed"}], schema=tables.STATION_LIST.schema)
    con.register("seen", seen)
    con.register("listed", listed)
    dimension = BY_NAME["stations"]

    def rows(sql):
        return con.execute(f"SELECT station_id, name, in_station_list, seen_date IS NULL, has_climate FROM ({sql}) ORDER BY 1").fetchall()

    assert rows(union_sql(dimension, "seen", "listed")) == [("S1", "Seen", False, False, True), ("S2", "Only listed", True, True, False)]
    assert rows(union_sql(dimension, None, "listed")) == [("S1", "Listed", True, True, False), ("S2", "Only listed", True, True, False)]
    assert rows(union_sql(dimension, "seen", None)) == [("S1", "Seen", False, False, True)]
    with pytest.raises(ValueError, match="neither"):
        union_sql(dimension, None, None)


# -- parquet: asset runs and the stream -----------------------------------------------------------------


def test_asset_runs_on_parquet_query_every_landed_station_and_product(dirs, sample):
    with DagsterInstance.ephemeral() as instance:
        result = materialize(all_assets, instance=instance, resources=resources_for("local", str(dirs.root)), tags=TWO_DAYS)
        assert result.success
        event = instance.get_latest_materialization_event(AssetKey("station_list")).asset_materialization
    assert event.partition is None and event.metadata["dagster/row_count"].value == len(landed_entities(dirs)[0])
    assert (dirs.warehouse / "station_list.parquet").is_file()
    assert_both_whole(lambda sql: run_query(dirs.warehouse, sql), dirs)
    counts = table_counts(dirs.warehouse)
    assert counts["station_list"] == (len(landed_entities(dirs)[0]), None)  # unpartitioned
    assert counts["stations"][0] == len(landed_entities(dirs)[0])  # the sample's stations are all listed


def test_the_stream_replaces_the_reference_tables_when_a_list_or_metadata_lands(dirs, sample):
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, instance=instance, resources=resources_for("local", str(dirs.root)), tags=TWO_DAYS).success
        first = stream(dirs, instance)  # the asset run read through every batch: nothing to write again
        assert not [e for e in first.all_events if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path[-1] in ("station_list", "product_catalog")]

        upload(dirs, "metadata/climate/ghcnd-stations.txt", station_list([NEW_STATION]))
        upload(dirs, "metadata/products/late.json", b'{"asin": "B000NOREVIEW", "title": "Never reviewed"}\n')
        second = stream(dirs, instance)
        written = sorted(e.asset_key.path[-1] for e in second.all_events if e.event_type_value == "ASSET_MATERIALIZATION" and e.event_specific_data.materialization.partition is None)
        assert written == ["product_catalog", "station_list"]
        assert not [e for e in second.all_events if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key.path[-1] == "climate"]

    query = lambda sql: run_query(dirs.warehouse, sql)  # noqa: E731
    assert query(f"SELECT name, elevation, has_climate, seen_date FROM stations WHERE station_id = '{NEW_STATION.station_id}'").rows == [
        ("NEVER REPORTS AP", None, False, None)
    ]
    assert query("SELECT title, has_reviews, has_metadata FROM products WHERE asin = 'B000NOREVIEW'").rows == [("Never reviewed", False, True)]
    assert_both_whole(query, dirs)


# -- S3 (moto) ------------------------------------------------------------------------------------------


def test_on_s3_parquet(aws, monkeypatch, dirs, sample):
    import boto3

    bucket, prefix = "amzn-whole", "s3://amzn-whole/lake"
    monkeypatch.setenv("AMZN_BACKEND", "s3")
    monkeypatch.setenv("AMZN_S3_PREFIX", prefix)
    boto3.client("s3").create_bucket(Bucket=bucket)
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, instance=instance, resources=resources_for("s3", str(dirs.root), s3_prefix=prefix), partition_key="2018-01-01").success
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix="lake/warehouse/").get("Contents", [])}
    assert {"lake/warehouse/station_list.parquet", "lake/warehouse/product_catalog.parquet"} <= keys
    assert_both_whole(query_from_env(dirs.warehouse), dirs)


# -- PostgreSQL -----------------------------------------------------------------------------------------


def direct(postgres_url, schema, sql):
    """A plain session (psql), without the query layer's temporary union."""
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute(sql)
        rows = cur.fetchall()
    conn.close()
    return rows


def test_on_postgres(dirs, sample, postgres_url, pg_schema):
    ledger_url = in_schema(postgres_url, pg_schema)
    resources = resources_for("postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=ledger_url)
    for _ in range(2):  # a re-run replaces the reference tables: the same rows, not twice as many
        with DagsterInstance.ephemeral() as instance:
            assert materialize(all_assets, instance=instance, resources=resources, tags=TWO_DAYS).success
    query = lambda sql: run_postgres_query(postgres_url, pg_schema, sql)  # noqa: E731
    assert_both_whole(query, dirs, ledger_url)
    stations, products = landed_entities(dirs, ledger_url)
    assert direct(postgres_url, pg_schema, "SELECT count(*) FROM station_list") == [(len(stations),)]
    assert direct(postgres_url, pg_schema, "SELECT count(*) FROM product_catalog") == [(len(products),)]
    # The union is the query session's own: the table itself still holds the seen stations only.
    seen = direct(postgres_url, pg_schema, "SELECT count(*) FROM stations")[0][0]
    assert seen == len(query("SELECT station_id FROM stations WHERE has_climate").rows) < len(stations)


# -- Redshift: the IO manager's statements, run on PostgreSQL ------------------------------------------


def test_redshift_replaces_a_reference_table_whole(postgres_url, s3):
    _, bucket = s3
    schema = f"rsw_{uuid.uuid4().hex[:10]}"
    io_manager = manager(postgres_url, schema, bucket)
    spec = tables.STATION_LIST

    def write(*ids: str):
        rows = pa.Table.from_pylist([{"station_id": i, "name": f"N{i}"} for i in ids], schema=spec.schema)
        io_manager.handle_output(build_output_context(asset_key=[spec.name], definition_metadata=table_metadata(spec)), rows)

    try:
        write("S2", "S1", "S3")
        write("S1", "S2")  # replaced whole: S3 is gone
        assert [s.split()[0] for s in io_manager._sent[-1]] == ["BEGIN", "DELETE", "COPY", "COMMIT"]
        assert io_manager._sent[-1][1] == f'DELETE FROM "{schema}"."station_list"'
        write()  # no rows: only the DELETE
        assert [s.split()[0] for s in io_manager._sent[-1]] == ["BEGIN", "DELETE", "COMMIT"]
        write("S1", "S2")
        # What `amzn-assets query` does on Redshift (a temporary table, Redshift has no temporary views).
        result = run_postgres_query(postgres_url, schema, "SELECT station_id, has_climate FROM stations ORDER BY 1", shadow="TABLE")
        assert result.rows == [("S1", False), ("S2", False)]
    finally:
        with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()

