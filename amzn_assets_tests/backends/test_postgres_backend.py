"""AMZN_BACKEND=postgres against a real PostgreSQL: COPY loads, upserts, foreign keys, re-runs."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.db_urls import libpq_url
from amzn_assets.backends.postgres import database as pg_database
from amzn_assets.backends.postgres import reads as pg_reads
from amzn_assets.backends.postgres import writes as pg_writes
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
        return cur.fetchall() if cur.description else None


def counts(postgres_url, schema):
    return {t.name: query(postgres_url, schema, f'SELECT count(*) FROM "{t.name}"')[0][0] for t in STAR_TABLES}


def test_star_schema_loads_into_postgres_and_reruns_are_identical(dirs, sample, postgres_url, pg_schema):
    run(dirs, postgres_url, pg_schema, tags=RANGE)
    first = counts(postgres_url, pg_schema)
    assert first["reviews_fact"] == 400 and first["datetime"] == 5 and first["climate"] == 15
    assert first["users"] == query(postgres_url, pg_schema, "SELECT count(DISTINCT reviewer_id) FROM reviews_fact")[0][0]
    # The ledger moved to Postgres with the backend.
    assert query(postgres_url, pg_schema, "SELECT count(*) FROM landing_files WHERE status = 'landed'")[0][0] >= 406

    snapshot = query(postgres_url, pg_schema, "SELECT * FROM reviews_fact ORDER BY review_date, review_id")
    run(dirs, postgres_url, pg_schema, partition_key="2018-01-03")
    run(dirs, postgres_url, pg_schema, tags=RANGE)
    assert counts(postgres_url, pg_schema) == first
    assert query(postgres_url, pg_schema, "SELECT * FROM reviews_fact ORDER BY review_date, review_id") == snapshot

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

    conn = pg_database.connect(postgres_url)
    pg_database.ensure_schema(conn, pg_schema)
    newer = pa.table({"reviewer_id": ["A1"], "reviewer_name": ["New"], "seen_date": [dt.date(2018, 1, 5)]}, schema=USERS_SCHEMA)
    older = pa.table({"reviewer_id": ["A1", "A1"], "reviewer_name": ["Old", "Older"], "seen_date": [dt.date(2018, 1, 2), dt.date(2018, 1, 1)]}, schema=USERS_SCHEMA)
    pg_writes.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [newer])
    pg_writes.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [older])  # a re-run of older days
    back = pg_reads.read_partitions(conn, pg_schema, "users", USERS_SCHEMA, "seen_date", [f"2018-01-{d:02d}" for d in range(1, 32)])
    assert back.to_pylist() == [{"reviewer_id": "A1", "reviewer_name": "New", "seen_date": dt.date(2018, 1, 5)}]
    conn.close()


def test_fact_rows_round_trip_through_copy(postgres_url, pg_schema):
    import datetime as dt

    import pyarrow as pa

    from amzn_assets.tables import DATETIME_SCHEMA, PRODUCTS_SCHEMA, REVIEWS_FACT_SCHEMA, USERS_SCHEMA
    from amzn_assets.transforms.review_identity import review_ids
    from amzn_assets.transforms.reviews import datetime_rows

    conn = pg_database.connect(postgres_url)
    pg_database.ensure_schema(conn, pg_schema)
    day = dt.date(2018, 1, 2)
    pg_writes.upsert(conn, pg_schema, "datetime", ["date"], "date", [datetime_rows([day]).cast(DATETIME_SCHEMA)])
    pg_writes.upsert(conn, pg_schema, "users", ["reviewer_id"], "seen_date", [pa.table({"reviewer_id": ["A1"], "reviewer_name": [None], "seen_date": [day]}, schema=USERS_SCHEMA)])
    product = {f.name: None for f in PRODUCTS_SCHEMA} | {"asin": "B1", "has_metadata": False, "seen_date": day}
    pg_writes.upsert(conn, pg_schema, "products", ["asin"], "seen_date", [pa.Table.from_pylist([product], schema=PRODUCTS_SCHEMA)])
    row = {
        "review_date": day, "review_time": dt.datetime(2018, 1, 2, tzinfo=dt.timezone.utc), "asin": "B1",
        "reviewer_id": "A1", "category": "toys", "rating": 5, "verified": None, "vote": 1341, "total_votes": None,
        "style": '{"Size":"7.0 oz"}', "summary": "", "review_text": 'Says "hi",\nthen, a comma', "image_count": 0,
    }
    row["review_id"] = review_ids(pa.Table.from_pylist([row]))[0].as_py()
    fact = pa.Table.from_pylist([row], schema=REVIEWS_FACT_SCHEMA)
    pg_writes.replace_partitions(conn, pg_schema, "reviews_fact", "review_date", ["2018-01-02"], [fact])
    back = pg_reads.read_partitions(conn, pg_schema, "reviews_fact", REVIEWS_FACT_SCHEMA, "review_date", ["2018-01-02"])
    assert back.to_pylist() == [row]  # empty string stays empty, NULL stays NULL, quotes and newlines survive
    conn.close()


def test_a_fact_load_with_a_dangling_reference_is_rolled_back_whole(postgres_url, pg_schema):
    import datetime as dt

    import pyarrow as pa

    from amzn_assets.tables import REVIEWS_FACT, REVIEWS_FACT_SCHEMA

    conn = pg_database.connect(postgres_url)
    pg_database.ensure_schema(conn, pg_schema)
    row = {f.name: None for f in REVIEWS_FACT_SCHEMA} | {
        "review_date": dt.date(2018, 1, 2), "review_time": dt.datetime(2018, 1, 2, tzinfo=dt.timezone.utc),
        "asin": "NOPE", "reviewer_id": "NOBODY", "rating": 5, "review_id": "0" * 32,
    }
    fact = pa.Table.from_pylist([row], schema=REVIEWS_FACT_SCHEMA)
    with pytest.raises(pg_writes.ReferenceViolation, match="reviewer_id values missing from users"):
        pg_writes.replace_partitions(
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


REVIEW_ASSETS = ["landed_reviews", "users", "products", "datetime", "reviews_fact"]


def test_every_distinct_review_of_the_real_excerpt_reaches_postgres_and_sql_recomputes_its_id(dirs, postgres_url, pg_schema):
    import datetime as dt

    from amzn_assets.landing.bulk import import_dump
    from amzn_assets.transforms.review_identity import REVIEW_ID_SQL
    from amzn_assets_tests import beauty_reviews as beauty

    resources = resources_for("postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=in_schema(postgres_url, pg_schema))
    import_dump(resources["landing"].lander(), beauty.BEAUTY, category="all_beauty")  # into the Postgres ledger
    may = {"dagster/asset_partition_range_start": "2018-05-01", "dagster/asset_partition_range_end": "2018-05-31"}
    run(dirs, postgres_url, pg_schema, selection=REVIEW_ASSETS, tags=may)
    run(dirs, postgres_url, pg_schema, selection=REVIEW_ASSETS, partition_key="2008-05-25")

    expected = beauty.distinct_reviews(dt.date(2018, 5, 1), dt.date(2018, 5, 31)) | beauty.distinct_reviews(dt.date(2008, 5, 25), dt.date(2008, 5, 25))
    stored = query(postgres_url, pg_schema, "SELECT review_id FROM reviews_fact")
    assert sorted(r[0] for r in stored) == sorted(beauty.review_id(r) for r in expected.values())
    # One reviewer, one day, one product, two variants: two reviews (3 and 5 stars).
    variants = query(
        postgres_url, pg_schema,
        "SELECT rating, summary FROM reviews_fact WHERE reviewer_id = 'ARPSCXPD7FYZ4' AND asin = 'B000URXP6E' ORDER BY rating",
    )
    assert variants == [(3, "Incomplete Decision"), (5, "Great Product")]
    # Three identical records (votes 12, none, 2 in file order): one row, the last copy's vote.
    repeated = query(
        postgres_url, pg_schema,
        "SELECT count(*), max(vote) FROM reviews_fact WHERE reviewer_id = 'AKJHHD5VEH7VG' AND summary = 'My results' AND vote IN (2, 12)",
    )
    assert repeated == [(1, 2)]
    # The documented SQL gives every stored review_id back.
    assert query(postgres_url, pg_schema, f"SELECT count(*) FROM reviews_fact WHERE review_id <> {REVIEW_ID_SQL}") == [(0,)]


OLD_REVIEWS_FACT = """
CREATE TABLE reviews_fact (
    review_date date NOT NULL, review_time timestamptz NOT NULL, asin text NOT NULL, reviewer_id text NOT NULL,
    category text, rating smallint, verified boolean, vote integer, style text, summary text, review_text text,
    image_count smallint,
    CONSTRAINT reviews_fact_pkey PRIMARY KEY (review_date, asin, reviewer_id, review_time)
)"""


def test_a_reviews_fact_from_before_review_id_is_migrated_in_place(postgres_url, pg_schema):
    """sql/postgres/schema.sql adds review_id to an existing table, computes it in SQL, re-keys; once."""
    import pyarrow as pa

    from amzn_assets.sources.dumps import iter_review_dump
    from amzn_assets.tables import REVIEWS_FACT
    from amzn_assets.transforms.dedupe import keep_first
    from amzn_assets.transforms.review_identity import review_ids
    from amzn_assets_tests import beauty_reviews as beauty

    parsed = pa.concat_tables(r.table for r in iter_review_dump(beauty.BEAUTY, category="all_beauty", source="x"))
    # What the old key kept: one row per (asin, reviewer_id, review_time).
    old_rows = keep_first(parsed, ("asin", "reviewer_id", "review_time")).drop_columns(["reviewer_name", "total_votes"])
    query(postgres_url, pg_schema, OLD_REVIEWS_FACT)
    conn = pg_database.connect(postgres_url)
    days = sorted({d.isoformat() for d in old_rows["review_date"].to_pylist()})
    pg_writes.replace_partitions(conn, pg_schema, "reviews_fact", "review_date", days, [old_rows])

    pg_database.ensure_schema(conn, pg_schema)
    pg_database.ensure_schema(conn, pg_schema)  # the migration runs once
    conn.close()
    columns = query(
        postgres_url, pg_schema,
        "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'reviews_fact' ORDER BY ordinal_position",
    )
    # Every column, review_id required; added columns come last (the loader's COPY names its columns).
    assert sorted(c for c, _ in columns) == sorted(REVIEWS_FACT.schema.names) and dict(columns)["review_id"] == "NO"
    assert [c for c, _ in columns][-2:] == ["review_id", "total_votes"]
    key = query(
        postgres_url, pg_schema,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = 'reviews_fact'::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)",
    )
    assert tuple(k for (k,) in key) == REVIEWS_FACT.primary_key
    migrated = sorted(r[0] for r in query(postgres_url, pg_schema, "SELECT review_id FROM reviews_fact"))
    assert len(migrated) == old_rows.num_rows == 4161
    assert migrated == sorted(review_ids(old_rows).to_pylist())
