"""AMZN_BACKEND=postgres against a real PostgreSQL: COPY loads, upserts, foreign keys, re-runs."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets.definitions import all_assets, resources_for
from amzn_assets.settings import libpq_url
from amzn_assets.storage import pg_tables
from amzn_assets.tables import STAR_TABLES

ANALYSIS = Path(__file__).resolve().parents[2] / "sql" / "analysis"
RANGE = {"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-05"}


@pytest.fixture
def pg_schema(postgres_url, monkeypatch):
    schema = f"t_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AMZN_POSTGRES_SCHEMA", schema)
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def in_schema(url: str, schema: str) -> str:
    """The same server, with the ledger's tables in the test's schema."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def run(dirs, postgres_url, schema, **kwargs):
    resources = resources_for(
        "postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=in_schema(postgres_url, schema)
    )
    with DagsterInstance.ephemeral() as instance:
        result = materialize(all_assets, instance=instance, resources=resources, **kwargs)
    assert result.success


def query(postgres_url, schema, sql):
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute(sql)
        return cur.fetchall()


def counts(postgres_url, schema):
    return {t.name: query(postgres_url, schema, f'SELECT count(*) FROM "{t.name}"')[0][0] for t in STAR_TABLES}


def test_star_schema_loads_into_postgres_and_reruns_are_identical(dirs, sample, postgres_url, pg_schema):
    run(dirs, postgres_url, pg_schema, tags=RANGE)
    first = counts(postgres_url, pg_schema)
    assert first["reviews_fact"] == 400 and first["datetime"] == 5 and first["climate"] == 15
    assert first["users"] == query(postgres_url, pg_schema, "SELECT count(DISTINCT reviewer_id) FROM reviews_fact")[0][0]
    # The ledger moved to Postgres with the backend.
    assert query(postgres_url, pg_schema, "SELECT count(*) FROM landing_files WHERE status = 'landed'")[0][0] >= 406

    snapshot = query(postgres_url, pg_schema, "SELECT * FROM reviews_fact ORDER BY asin, reviewer_id, review_time")
    run(dirs, postgres_url, pg_schema, partition_key="2018-01-03")
    run(dirs, postgres_url, pg_schema, tags=RANGE)
    assert counts(postgres_url, pg_schema) == first
    assert query(postgres_url, pg_schema, "SELECT * FROM reviews_fact ORDER BY asin, reviewer_id, review_time") == snapshot

    # Every fact row has its dimension rows.
    orphans = query(
        postgres_url, pg_schema,
        """SELECT count(*) FROM reviews_fact f
           WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.reviewer_id = f.reviewer_id)
              OR NOT EXISTS (SELECT 1 FROM products p WHERE p.asin = f.asin)
              OR NOT EXISTS (SELECT 1 FROM "datetime" d WHERE d.date = f.review_date)""",
    )
    assert orphans == [(0,)]

    for name in ("top_products.sql", "rating_by_temperature.sql"):
        rows = query(postgres_url, pg_schema, (ANALYSIS / name).read_text())
        assert rows, name


def test_upsert_keeps_the_latest_partition_and_reads_back_in_arrow_types(postgres_url, pg_schema):
    import datetime as dt

    import pyarrow as pa

    from amzn_assets.tables import USERS_SCHEMA

    conn = pg_tables.connect(postgres_url)
    pg_tables.ensure_schema(conn, pg_schema)
    newer = pa.table({"reviewer_id": ["A1"], "reviewer_name": ["New"], "seen_date": [dt.date(2018, 1, 5)]}, schema=USERS_SCHEMA)
    older = pa.table({"reviewer_id": ["A1", "A1"], "reviewer_name": ["Old", "Older"], "seen_date": [dt.date(2018, 1, 2), dt.date(2018, 1, 1)]}, schema=USERS_SCHEMA)
    pg_tables.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [newer])
    pg_tables.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [older])  # a re-run of older days
    back = pg_tables.read_partitions(conn, pg_schema, "users", USERS_SCHEMA, "seen_date", [f"2018-01-{d:02d}" for d in range(1, 32)])
    assert back.to_pylist() == [{"reviewer_id": "A1", "reviewer_name": "New", "seen_date": dt.date(2018, 1, 5)}]
    conn.close()


def test_fact_rows_round_trip_through_copy(postgres_url, pg_schema):
    import datetime as dt

    import pyarrow as pa

    from amzn_assets.tables import DATETIME_SCHEMA, PRODUCTS_SCHEMA, REVIEWS_FACT_SCHEMA, USERS_SCHEMA
    from amzn_assets.transforms.reviews import datetime_rows

    conn = pg_tables.connect(postgres_url)
    pg_tables.ensure_schema(conn, pg_schema)
    day = dt.date(2018, 1, 2)
    pg_tables.upsert(conn, pg_schema, "datetime", ["date"], "date", [datetime_rows([day]).cast(DATETIME_SCHEMA)])
    pg_tables.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [pa.table({"reviewer_id": ["A1"], "reviewer_name": [None], "seen_date": [day]}, schema=USERS_SCHEMA)])
    product = {f.name: None for f in PRODUCTS_SCHEMA} | {"asin": "B1", "has_metadata": False, "seen_date": day}
    pg_tables.upsert(conn, pg_schema, "products", ["asin"], "seen_date", [pa.Table.from_pylist([product], schema=PRODUCTS_SCHEMA)])
    row = {
        "review_date": day, "review_time": dt.datetime(2018, 1, 2, tzinfo=dt.timezone.utc), "asin": "B1",
        "reviewer_id": "A1", "category": "toys", "rating": 5, "verified": None, "vote": 1341,
        "style": '{"Size":"7.0 oz"}', "summary": "", "review_text": 'Says "hi",\nthen, a comma', "image_count": 0,
    }
    fact = pa.Table.from_pylist([row], schema=REVIEWS_FACT_SCHEMA)
    pg_tables.replace_partitions(conn, pg_schema, "reviews_fact", "review_date", ["2018-01-02"], [fact])
    back = pg_tables.read_partitions(conn, pg_schema, "reviews_fact", REVIEWS_FACT_SCHEMA, "review_date", ["2018-01-02"])
    assert back.to_pylist() == [row]  # empty string stays empty, NULL stays NULL, quotes and newlines survive
    conn.close()


def test_a_fact_load_with_a_dangling_reference_is_rolled_back_whole(postgres_url, pg_schema):
    import datetime as dt

    import pyarrow as pa

    from amzn_assets.tables import REVIEWS_FACT, REVIEWS_FACT_SCHEMA

    conn = pg_tables.connect(postgres_url)
    pg_tables.ensure_schema(conn, pg_schema)
    row = {f.name: None for f in REVIEWS_FACT_SCHEMA} | {
        "review_date": dt.date(2018, 1, 2), "review_time": dt.datetime(2018, 1, 2, tzinfo=dt.timezone.utc),
        "asin": "NOPE", "reviewer_id": "NOBODY", "rating": 5,
    }
    fact = pa.Table.from_pylist([row], schema=REVIEWS_FACT_SCHEMA)
    with pytest.raises(pg_tables.ReferenceViolation, match="reviewer_id values missing from users"):
        pg_tables.replace_partitions(
            conn, pg_schema, "reviews_fact", "review_date", ["2018-01-02"], [fact], REVIEWS_FACT.references
        )
    assert query(postgres_url, pg_schema, "SELECT count(*) FROM reviews_fact") == [(0,)]
    conn.close()


def test_dagster_instance_stored_in_postgres_records_a_materialization(dirs, sample, postgres_url, pg_schema, tmp_path, monkeypatch):
    """dagster-postgres storage (runs, event logs, schedules) in the test server, as docker/dagster.yaml does."""
    from dagster import AssetKey
    from dagster._core.instance.ref import InstanceRef

    database = f"dagster_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(libpq_url(postgres_url))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{database}"')
    admin.close()
    instance_url = postgres_url.replace("/postgres?", f"/{database}?", 1)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(f"storage:\n  postgres:\n    postgres_url: '{instance_url}'\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    resources = resources_for("postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=in_schema(postgres_url, pg_schema))
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = materialize(all_assets, instance=instance, resources=resources, partition_key="2018-01-02")
        assert result.success
        event = instance.get_latest_materialization_event(AssetKey("reviews_fact"))
        assert event.asset_materialization.partition == "2018-01-02"
    with psycopg2.connect(libpq_url(instance_url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'")
        assert cur.fetchone()[0] == 1
