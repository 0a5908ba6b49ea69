"""AMZN_BACKEND=redshift without a Redshift cluster.

No Redshift runs here. What is tested, and how:

* The statements: exact SQL text for fact replacement and dimension merge, the quoting, the
  literals COPY needs (S3 URL, IAM role) and the refusal of anything that could break out of them.
* The dialect-neutral statements run on the suite's real PostgreSQL 16, in a throwaway schema with
  sql/postgres/schema.sql (same tables and columns as sql/redshift/schema.sql): BEGIN/COMMIT, the
  DELETE of a partition range, CREATE TEMP TABLE (LIKE ...), the ROW_NUMBER dedupe, DELETE ... USING
  and MERGE run as generated. Only `COPY ... FROM 's3://...' FORMAT AS PARQUET` is replaced: the same
  rows are inserted into the COPY's target, by position, as COPY from parquet maps columns.
* The staging: parquet objects written to moto's S3 server, read back (key layout, column order,
  types, snappy, UTC microsecond timestamps, VARCHAR byte truncation).
* The IO manager: handle_output / load_input with a real dagster-aws RedshiftClientResource connected
  to the PostgreSQL server (Redshift speaks its wire protocol) and a real S3Resource on moto; see
  test_io_manager_through_redshift_client_resource for the two substitutions.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import psycopg2.extras
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dagster import (
    DailyPartitionsDefinition,
    PartitionKeyRange,
    build_input_context,
    build_output_context,
)
from dagster_aws.redshift import RedshiftClientResource
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr
from sqlalchemy.engine import make_url

from amzn_assets.db_urls import libpq_url
from amzn_assets.backends.redshift import ddl as redshift_ddl
from amzn_assets.backends.redshift import sql as redshift_sql
from amzn_assets.backends.redshift.io_manager import RedshiftIOManager
from amzn_assets.backends.redshift.staging import delete_staged, prepare_for_copy, stage_parquet
from amzn_assets.tables import (
    DATETIME,
    PRODUCTS,
    PRODUCTS_SCHEMA,
    REVIEWS_FACT,
    REVIEWS_FACT_SCHEMA,
    USERS,
    USERS_SCHEMA,
)

from amzn_assets.transforms.review_identity import review_ids
from amzn_assets.wiring.catalog import table_metadata

REPO = Path(__file__).resolve().parents[2]
PG_DDL = (REPO / "sql" / "postgres" / "schema.sql").read_text()
ROLE = "arn:aws:iam::123456789012:role/amzn-redshift-copy"
BUCKET = "amzn-staging"
COPY_RE = re.compile(r"^COPY (?P<target>\S+) FROM '(?P<url>s3://[^']+)' IAM_ROLE '[^']+' FORMAT AS PARQUET$")
DAILY = DailyPartitionsDefinition(start_date="2018-01-01")
UTC = dt.UTC


# --------------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------------


def d(day: int) -> dt.date:
    return dt.date(2018, 1, day)


def review(day: int, asin: str, reviewer: str, rating: int = 5, text: str = "ok", hour: int = 12) -> dict:
    row = {
        "review_date": d(day), "review_time": dt.datetime(2018, 1, day, hour, tzinfo=UTC), "asin": asin,
        "reviewer_id": reviewer, "category": "toys", "rating": rating, "verified": True, "vote": 3, "total_votes": None,
        "style": '{"Size":"7.0 oz"}', "summary": "", "review_text": text, "image_count": 0,
    }
    return row | {"review_id": review_ids(pa.Table.from_pylist([row]))[0].as_py()}


def facts(*rows: dict) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=REVIEWS_FACT_SCHEMA)


def users(*rows: tuple[str, str | None, int]) -> pa.Table:
    return pa.Table.from_pylist(
        [{"reviewer_id": r, "reviewer_name": n, "seen_date": d(day)} for r, n, day in rows], schema=USERS_SCHEMA
    )


def products(*asins: str, day: int = 1) -> pa.Table:
    return pa.Table.from_pylist(
        [{f.name: None for f in PRODUCTS_SCHEMA} | {"asin": a, "price": 9.5, "sales_rank": 12, "has_metadata": False, "seen_date": d(day)} for a in asins],
        schema=PRODUCTS_SCHEMA,
    )


def calendar(*days: int) -> pa.Table:
    rows = [
        {"date": d(x), "year": 2018, "month": 1, "day": x, "day_of_week": d(x).isoweekday(), "week": d(x).isocalendar()[1], "day_of_year": x}
        for x in days
    ]
    return pa.Table.from_pylist(rows, schema=DATETIME.schema)


# --------------------------------------------------------------------------------------------------
# 1. The statements
# --------------------------------------------------------------------------------------------------


def test_replace_statements_for_reviews_fact():
    statements = redshift_sql.replace_range(
        "amzn", "reviews_fact", REVIEWS_FACT_SCHEMA.names, "review_date",
        "s3://amzn-staging/rs/reviews_fact/0123abcd/", ROLE, "2018-01-01", "2018-01-05",
    )
    assert statements == [
        ("BEGIN", ()),
        ('DELETE FROM "amzn"."reviews_fact" WHERE "review_date" BETWEEN %s AND %s', ("2018-01-01", "2018-01-05")),
        (
            (
                """COPY "amzn"."reviews_fact" FROM 's3://amzn-staging/rs/reviews_fact/0123abcd/' """
                """IAM_ROLE 'arn:aws:iam::123456789012:role/amzn-redshift-copy' FORMAT AS PARQUET"""
            ),
            (),
        ),
        ("COMMIT", ()),
    ]
    assert redshift_sql.render(statements[1]) == (
        """DELETE FROM "amzn"."reviews_fact" WHERE "review_date" BETWEEN '2018-01-01' AND '2018-01-05'"""
    )
    # A range with no rows: only the DELETE.
    empty = redshift_sql.replace_range("amzn", "reviews_fact", REVIEWS_FACT_SCHEMA.names, "review_date", None, ROLE, d(3), d(3))
    assert [s.sql.split()[0] for s in empty] == ["BEGIN", "DELETE", "COMMIT"]
    assert redshift_sql.render(empty[1]).endswith("BETWEEN '2018-01-03' AND '2018-01-03'")


def test_upsert_statements_for_users():
    statements = redshift_sql.upsert(
        "amzn", "users", USERS_SCHEMA.names, ("reviewer_id",), "seen_date", "s3://amzn-staging/rs/users/0123abcd/", ROLE
    )
    cols = '"reviewer_id", "reviewer_name", "seen_date"'
    assert [s.sql for s in statements] == [
        "BEGIN",
        'CREATE TEMP TABLE "_stage_users" (LIKE "amzn"."users")',
        (
            """COPY "_stage_users" FROM 's3://amzn-staging/rs/users/0123abcd/' """
            """IAM_ROLE 'arn:aws:iam::123456789012:role/amzn-redshift-copy' FORMAT AS PARQUET"""
        ),
        'CREATE TEMP TABLE "_merge_users" (LIKE "amzn"."users")',
        (
            f'INSERT INTO "_merge_users" ({cols}) SELECT {cols} FROM '
            f'(SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY "reviewer_id" ORDER BY "seen_date" DESC) AS "_rn" '
            'FROM "_stage_users") AS "_ranked" WHERE "_rn" = 1'
        ),
        (
            'DELETE FROM "_merge_users" USING "amzn"."users" WHERE "_merge_users"."reviewer_id" = "users"."reviewer_id" '
            'AND "users"."seen_date" > "_merge_users"."seen_date"'
        ),
        (
            'MERGE INTO "amzn"."users" USING "_merge_users" ON "users"."reviewer_id" = "_merge_users"."reviewer_id" '
            'WHEN MATCHED THEN UPDATE SET "reviewer_name" = "_merge_users"."reviewer_name", '
            '"seen_date" = "_merge_users"."seen_date" '
            f'WHEN NOT MATCHED THEN INSERT ({cols}) '
            'VALUES ("_merge_users"."reviewer_id", "_merge_users"."reviewer_name", "_merge_users"."seen_date")'
        ),
        'DROP TABLE "_merge_users"',
        'DROP TABLE "_stage_users"',
        "COMMIT",
    ]
    assert all(s.params == () for s in statements)


def test_upsert_statements_for_a_composite_key_and_every_column():
    statements = redshift_sql.upsert(
        "public", "products", PRODUCTS_SCHEMA.names, PRODUCTS.primary_key, "seen_date", "s3://amzn-staging/p/", ROLE
    )
    merge = next(s.sql for s in statements if s.sql.startswith("MERGE"))
    assert merge.count(" = \"_merge_products\".") == len(PRODUCTS_SCHEMA) - 1 + 1  # every non-key column + ON
    inserted = re.search(r"INSERT \((.*?)\) VALUES", merge).group(1)
    assert inserted == ", ".join(f'"{c}"' for c in PRODUCTS_SCHEMA.names)  # the table's column order
    two_keys = redshift_sql.upsert("public", "climate", ["station_id", "date", "tavg"], ["station_id", "date"], "date", "s3://amzn-staging/c/", ROLE)
    merge = next(s.sql for s in two_keys if s.sql.startswith("MERGE"))
    assert 'ON "climate"."station_id" = "_merge_climate"."station_id" AND "climate"."date" = "_merge_climate"."date"' in merge
    assert 'UPDATE SET "tavg" = "_merge_climate"."tavg" WHEN' in merge


def test_ensure_schema_runs_the_redshift_ddl_in_the_schema():
    statements = [s.sql for s in redshift_ddl.ensure_schema("amzn")]
    assert statements[:3] == ["BEGIN", 'CREATE SCHEMA IF NOT EXISTS "amzn"', 'SET search_path TO "amzn"']
    assert statements[-1] == "COMMIT"
    creates = [s for s in statements if s.startswith("CREATE TABLE")]
    comments = [s for s in statements if s.startswith("COMMENT ON COLUMN")]  # sql/redshift/comments.sql
    assert len(creates) == len(statements) - 4 - len(comments) == 16  # the star, reference and analysis tables and the ledger, landing_applied included
    assert not any("--" in s or s.rstrip().endswith(";") for s in statements)
    fact = next(s for s in creates if "reviews_fact" in s.splitlines()[0])
    assert "DISTKEY (asin)" in fact and "SORTKEY (review_time)" in fact
    assert "DISTSTYLE ALL" in next(s for s in creates if '"datetime"' in s.splitlines()[0])
    widths = redshift_ddl.varchar_widths()
    assert widths["reviews_fact"]["review_text"] == 65535 and widths["users"] == {"reviewer_id": 64, "reviewer_name": 512}


@pytest.mark.parametrize(
    "url",
    [
        "http://amzn-staging/x/",
        "s3://Amzn-Staging/x/",  # bucket names are lower case
        "s3://ab/x/",  # too short a bucket
        "s3://amzn-staging/x' IAM_ROLE 'arn",
        "s3://amzn-staging/x';DROP TABLE users;--",
        "s3://amzn-staging/a\\b",
        "s3://amzn-staging/%s",
        "s3://amzn-staging/x y",
    ],
)
def test_bad_s3_urls_are_refused(url):
    with pytest.raises(ValueError):
        redshift_sql.replace_range("public", "reviews_fact", ["review_date"], "review_date", url, ROLE, "2018-01-01", "2018-01-01")


def test_a_single_quote_in_a_key_is_doubled():
    assert redshift_sql.s3_literal("s3://amzn-staging/it's/") == "'s3://amzn-staging/it''s/'"
    assert redshift_sql.literal("O'Brien") == "'O''Brien'"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:role/r' CREDENTIALS 'x",
        "arn:aws:iam::123456789012:role/r;DROP TABLE users",
        "arn:aws:iam::12345:role/r",
        "arn:aws:iam::123456789012:user/someone",
        "role/amzn",
        "",
    ],
)
def test_bad_role_arns_are_refused(arn):
    with pytest.raises(ValueError):
        redshift_sql.upsert("public", "users", USERS_SCHEMA.names, ["reviewer_id"], "seen_date", "s3://amzn-staging/x/", arn)


def test_china_and_govcloud_role_arns_are_accepted():
    for arn in ("arn:aws-cn:iam::123456789012:role/a", "arn:aws-us-gov:iam::123456789012:role/path/b"):
        assert redshift_sql.iam_role_literal(arn) == f"'{arn}'"


@pytest.mark.parametrize("bad", ['users"; DROP TABLE users; --', "a b", "", "x'y", '"users"', "1abc"])
def test_bad_identifiers_are_refused_wherever_they_appear(bad):
    url = "s3://amzn-staging/x/"
    with pytest.raises(ValueError):
        redshift_sql.replace_range(bad, "reviews_fact", ["a"], "review_date", url, ROLE, "2018-01-01", "2018-01-01")
    with pytest.raises(ValueError):
        redshift_sql.replace_range("public", bad, ["a"], "review_date", url, ROLE, "2018-01-01", "2018-01-01")
    with pytest.raises(ValueError):
        redshift_sql.replace_range("public", "reviews_fact", ["a", bad], "review_date", url, ROLE, "2018-01-01", "2018-01-01")
    with pytest.raises(ValueError):
        redshift_sql.upsert("public", "users", ["reviewer_id", "seen_date"], [bad], "seen_date", url, ROLE)
    with pytest.raises(ValueError):
        redshift_sql.select_range("public", "users", ["reviewer_id"], bad, "2018-01-01", "2018-01-02")
    with pytest.raises(ValueError):
        redshift_ddl.ensure_schema(bad, ddl="CREATE TABLE IF NOT EXISTS t (a INT);")


def test_values_are_parameters_and_only_safe_literals_are_inlined():
    with pytest.raises(ValueError):
        redshift_sql.replace_range("public", "reviews_fact", ["a"], "review_date", None, ROLE, "2018-01-01' OR '1'='1", "2018-01-02")
    with pytest.raises(ValueError):
        redshift_sql.literal("a\\'b")
    with pytest.raises(TypeError):
        redshift_sql.literal(None)
    with pytest.raises(ValueError):  # placeholders and parameters must agree
        redshift_sql.render(redshift_sql.Statement("SELECT %s, %s", ("a",)))
    assert redshift_sql.render(redshift_sql.Statement("SELECT '50%s'")) == "SELECT '50%s'"  # no params: untouched


def test_split_sql_keeps_quoted_semicolons_and_drops_comments():
    script = "-- a; comment\nCREATE TABLE \"a;b\" (x text DEFAULT 'it''s; -- not a comment'); -- trailing\n\n;SELECT 1"
    assert redshift_ddl.split_sql(script) == [
        "CREATE TABLE \"a;b\" (x text DEFAULT 'it''s; -- not a comment')",
        "SELECT 1",
    ]
    block = "DO $m$\nBEGIN\n    UPDATE t SET a = 'x;y'; -- a; comment\nEND\n$m$"
    assert redshift_ddl.split_sql(f"{block};\nDO $$ SELECT 1; $$;SELECT 2") == [block, "DO $$ SELECT 1; $$", "SELECT 2"]


# --------------------------------------------------------------------------------------------------
# 2. The dialect-neutral statements on a real PostgreSQL
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def pg_schema(postgres_url):
    """A throwaway schema holding sql/postgres/schema.sql, created with redshift_sql.ensure_schema's
    statement sequence (BEGIN, CREATE SCHEMA, SET search_path, the DDL split, COMMIT)."""
    schema = f"rs_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(libpq_url(postgres_url), options="-c TimeZone=UTC")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in redshift_ddl.ensure_schema(schema, ddl=PG_DDL):
                cur.execute(redshift_sql.render(statement))
    finally:
        conn.close()
    yield schema
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def local_insert_sql(cur, target: str, table: pa.Table) -> str | None:
    """What stands in for COPY ... FORMAT AS PARQUET: INSERT INTO target VALUES (...) of the rows, by
    position (no column list), as parquet COPY maps columns. None when there are no rows."""
    if table.num_rows == 0:
        return None
    placeholders = "(" + ", ".join(["%s"] * table.num_columns) + ")"
    values = ", ".join(cur.mogrify(placeholders, tuple(row.values())).decode() for row in table.to_pylist())
    return f"INSERT INTO {target} VALUES {values}"


def run_on_postgres(url: str, statements, staged: dict[str, pa.Table], fail_on_copy: bool = False) -> list[str]:
    """Send the rendered statements on one autocommit connection, as RedshiftIOManager.run_sql does;
    each COPY from S3 is replaced by a local insert of the rows staged under its URL. The connection
    is closed whatever happens (an open transaction is then rolled back by the server)."""
    sent = []
    conn = psycopg2.connect(libpq_url(url), options="-c TimeZone=UTC")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for statement in statements:
                text = redshift_sql.render(statement)
                copy = COPY_RE.match(text)
                if copy:
                    if fail_on_copy:
                        raise RuntimeError("COPY failed")
                    rows = staged[copy["url"]]
                    prepared = prepare_for_copy(rows, rows.schema)  # the parquet the IO manager would stage
                    text = local_insert_sql(cur, copy["target"], prepared)
                    if text is None:
                        continue
                cur.execute(text)
                sent.append(text)
    finally:
        conn.close()
    return sent


def select(url: str, schema: str, query: str) -> list[tuple]:
    with psycopg2.connect(libpq_url(url), options="-c TimeZone=UTC") as conn, conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute(query)
        rows = cur.fetchall()
    conn.close()
    return rows


def upsert_on_postgres(url, schema, spec, table: pa.Table):
    staged = f"s3://{BUCKET}/t/{spec.name}/{uuid.uuid4().hex}/"
    statements = redshift_sql.upsert(schema, spec.name, spec.schema.names, spec.primary_key, spec.partition_column, staged, ROLE)
    return run_on_postgres(url, statements, {staged: table})


def replace_on_postgres(url, schema, table: pa.Table, first: int, last: int, **kwargs):
    staged = f"s3://{BUCKET}/t/reviews_fact/{uuid.uuid4().hex}/" if table.num_rows else None
    statements = redshift_sql.replace_range(
        schema, "reviews_fact", REVIEWS_FACT_SCHEMA.names, "review_date", staged, ROLE, d(first), d(last)
    )
    return run_on_postgres(url, statements, {staged: table}, **kwargs)


def seed_dimensions(url, schema):
    upsert_on_postgres(url, schema, DATETIME, calendar(1, 2, 3, 4, 5))
    upsert_on_postgres(url, schema, USERS, users(("A1", "Ann", 1), ("A2", "Bob", 1), ("A3", None, 2)))
    upsert_on_postgres(url, schema, PRODUCTS, products("B1", "B2"))


FACT_QUERY = "SELECT * FROM reviews_fact ORDER BY review_date, asin, reviewer_id, review_time"


def test_fact_partitions_are_replaced_whole_on_postgres(postgres_url, pg_schema):
    seed_dimensions(postgres_url, pg_schema)
    first = facts(
        review(1, "B1", "A1"), review(1, "B2", "A1"), review(2, "B1", "A2", text="Says \"hi\",\nthen, a comma"),
        review(3, "B2", "A3", rating=1), review(3, "B1", "A3", rating=2),
    )
    sent = replace_on_postgres(postgres_url, pg_schema, first, 1, 3)
    assert [s.split()[0] for s in sent] == ["BEGIN", "DELETE", "INSERT", "COMMIT"]
    snapshot = select(postgres_url, pg_schema, FACT_QUERY)
    assert len(snapshot) == 5
    assert snapshot[2][REVIEWS_FACT_SCHEMA.get_field_index("review_text")] == 'Says "hi",\nthen, a comma' and snapshot[0][1] == dt.datetime(2018, 1, 1, 12, tzinfo=UTC)

    # Re-running the range gives identical rows (no appends).
    replace_on_postgres(postgres_url, pg_schema, first, 1, 3)
    assert select(postgres_url, pg_schema, FACT_QUERY) == snapshot

    # One partition re-run with other rows: only that day changes.
    replace_on_postgres(postgres_url, pg_schema, facts(review(2, "B2", "A1", rating=3)), 2, 2)
    after = select(postgres_url, pg_schema, FACT_QUERY)
    assert [r for r in after if r[0] != d(2)] == [r for r in snapshot if r[0] != d(2)]
    assert [(r[2], r[3], r[5]) for r in after if r[0] == d(2)] == [("B2", "A1", 3)]

    # A day with no rows: only the DELETE runs, the day is emptied.
    sent = replace_on_postgres(postgres_url, pg_schema, facts(), 3, 3)
    assert [s.split()[0] for s in sent] == ["BEGIN", "DELETE", "COMMIT"]
    assert select(postgres_url, pg_schema, "SELECT count(*) FROM reviews_fact WHERE review_date = '2018-01-03'") == [(0,)]

    # A failed COPY leaves the range as it was: DELETE and COPY are one transaction.
    before = select(postgres_url, pg_schema, FACT_QUERY)
    with pytest.raises(RuntimeError):
        replace_on_postgres(postgres_url, pg_schema, first, 1, 3, fail_on_copy=True)
    assert select(postgres_url, pg_schema, FACT_QUERY) == before


USERS_QUERY = "SELECT reviewer_id, reviewer_name, seen_date FROM users ORDER BY reviewer_id"


def test_dimension_merge_keeps_the_latest_partition_on_postgres(postgres_url, pg_schema):
    sent = upsert_on_postgres(postgres_url, pg_schema, USERS, users(("A1", "New", 5)))
    assert [s.split()[0] for s in sent] == ["BEGIN", "CREATE", "INSERT", "CREATE", "INSERT", "DELETE", "MERGE", "DROP", "DROP", "COMMIT"]
    assert select(postgres_url, pg_schema, USERS_QUERY) == [("A1", "New", d(5))]

    # A re-run of older days, with several rows per key: the newer row stays, new keys get their latest.
    older = users(("A1", "Old", 2), ("A1", "Older", 1), ("A2", "Two-old", 1), ("A2", "Two", 2), ("A3", None, 2))
    upsert_on_postgres(postgres_url, pg_schema, USERS, older)
    expected = [("A1", "New", d(5)), ("A2", "Two", d(2)), ("A3", None, d(2))]
    assert select(postgres_url, pg_schema, USERS_QUERY) == expected

    # Re-running the same range changes nothing.
    upsert_on_postgres(postgres_url, pg_schema, USERS, older)
    assert select(postgres_url, pg_schema, USERS_QUERY) == expected

    # The same partition again (<=) and a newer one overwrite.
    upsert_on_postgres(postgres_url, pg_schema, USERS, users(("A1", "Renamed", 5), ("A3", "Cy", 4)))
    assert select(postgres_url, pg_schema, USERS_QUERY) == [("A1", "Renamed", d(5)), ("A2", "Two", d(2)), ("A3", "Cy", d(4))]

    # The temp tables are gone with the session; nothing else was created in the schema.
    tables = select(postgres_url, pg_schema, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{pg_schema}'")
    assert not any(t.startswith("_") for (t,) in tables)


def test_merge_where_the_key_is_the_partition_column(postgres_url, pg_schema):
    upsert_on_postgres(postgres_url, pg_schema, DATETIME, calendar(1, 2))
    fixed = calendar(2, 3).to_pylist()
    fixed[0]["week"] = 40
    upsert_on_postgres(postgres_url, pg_schema, DATETIME, pa.Table.from_pylist(fixed, schema=DATETIME.schema))
    assert select(postgres_url, pg_schema, 'SELECT "date", week FROM "datetime" ORDER BY 1') == [(d(1), 1), (d(2), 40), (d(3), 1)]


# --------------------------------------------------------------------------------------------------
# 3. Staging on S3 (moto)
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def s3(aws):
    """boto3 (and S3Resource) pointed at moto's server (the `aws` fixture); a fresh bucket."""
    client = S3Resource().get_client()
    bucket = f"{BUCKET}-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def keys_under(client, bucket: str, prefix: str = "") -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listing.get("Contents", []))


def test_staged_parquet_lands_on_s3_in_copy_order_and_types(s3):
    client, bucket = s3
    long_text = "é" * 40_000  # 80,000 UTF-8 bytes: over VARCHAR(65535)
    rows = [review(1, "B1", "A1", text=long_text), review(1, "B2", "A1"), review(2, "B1", "A2")]
    shuffled = facts(*rows).select(list(reversed(REVIEWS_FACT_SCHEMA.names)))  # column order must not matter
    chunks = [shuffled.slice(0, 2), shuffled.slice(2)]
    widths = redshift_ddl.varchar_widths()["reviews_fact"]

    url, keys, count = stage_parquet(client, f"s3://{bucket}/runs/rs/", "reviews_fact", chunks, REVIEWS_FACT_SCHEMA, widths, rows_per_object=1)
    assert count == 3
    assert re.fullmatch(rf"s3://{bucket}/runs/rs/reviews_fact/[0-9a-f]{{32}}/", url)
    folder = url[len(f"s3://{bucket}/") :]
    assert keys == [f"{folder}part-0000{i}.parquet" for i in range(3)]
    assert keys_under(client, bucket, folder) == keys
    assert redshift_sql.s3_literal(url)  # a prefix COPY accepts

    parts = []
    for key in keys:
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        parquet = pq.ParquetFile(io.BytesIO(body))
        assert parquet.metadata.row_group(0).column(0).compression == "SNAPPY"
        time_column = parquet.schema.column(REVIEWS_FACT_SCHEMA.get_field_index("review_time"))
        logical = json.loads(time_column.logical_type.to_json())
        assert (logical["Type"], logical["isAdjustedToUTC"], logical["timeUnit"]) == ("Timestamp", True, "microseconds")
        rating = parquet.schema.column(REVIEWS_FACT_SCHEMA.get_field_index("rating"))
        assert rating.physical_type == "INT32" and json.loads(rating.logical_type.to_json())["bitWidth"] == 16
        parts.append(parquet.read())
    staged = pa.concat_tables(parts)
    assert staged.column_names == REVIEWS_FACT_SCHEMA.names  # COPY maps parquet columns by position
    assert staged.schema.field("rating").type == pa.int16()
    assert staged.schema.field("image_count").type == pa.int16()
    assert staged.schema.field("review_time").type == pa.timestamp("us", tz="UTC")
    assert staged.schema.field("review_date").type == pa.date32()

    back = staged.to_pylist()
    text = back[0]["review_text"]
    assert len(text.encode()) <= 65535 and text == "é" * (65535 // 2)  # cut on a character boundary
    assert back[1:] == rows[1:]
    assert back[0] | {"review_text": long_text} == rows[0]

    delete_staged(client, url, keys)
    assert keys_under(client, bucket, folder) == []

    _, no_keys, no_rows = stage_parquet(client, f"s3://{bucket}/runs", "reviews_fact", [facts()], REVIEWS_FACT_SCHEMA)
    assert no_keys == [] and no_rows == 0 and keys_under(client, bucket) == []


def test_staging_refuses_a_prefix_copy_could_not_read(s3):
    client, bucket = s3
    with pytest.raises(ValueError):
        stage_parquet(client, f"s3://{bucket}/it is/", "users", [users(("A1", "a", 1))], USERS_SCHEMA)
    assert keys_under(client, bucket) == []


# --------------------------------------------------------------------------------------------------
# 4. The IO manager through dagster-aws's RedshiftClientResource, on PostgreSQL
# --------------------------------------------------------------------------------------------------


def client_resource_for(postgres_url: str) -> RedshiftClientResource:
    url = make_url(postgres_url)
    return RedshiftClientResource(
        host=url.host or url.query["host"],  # pgserver: a Unix socket directory
        port=url.port or 5432,
        user=url.username,
        password=url.password or "",
        database=url.database,
        sslmode="prefer",  # the test server has no TLS; Redshift's default in the resource is require
    )


class PostgresBackedRedshiftIOManager(RedshiftIOManager):
    """RedshiftIOManager with two substitutions, everything else real:

    * schema_statements: sql/postgres/schema.sql instead of sql/redshift/schema.sql (PostgreSQL has
      no DISTKEY/SORTKEY/IDENTITY), through the same redshift_sql.ensure_schema sequence;
    * run_sql: every statement is recorded as sent; a `COPY ... FROM 's3://...' FORMAT AS PARQUET`
      (which PostgreSQL cannot run) is replaced by an INSERT, by position, of the rows read back from
      the parquet objects that handle_output staged on (moto) S3 under that URL.
    The statements then go through RedshiftClientResource.get_client().execute_queries (via
    super().run_sql) to PostgreSQL, and load_input reads through execute_query.
    """

    _sent: list = PrivateAttr(default_factory=list)
    _scratch_url: str = PrivateAttr(default="")
    _break_copy: bool = PrivateAttr(default=False)  # make the COPY's stand-in fail (division by zero)

    def schema_statements(self):
        return redshift_ddl.ensure_schema(self.db_schema, ddl=PG_DDL)

    def run_sql(self, statements: list[str]) -> None:
        self._sent.append(list(statements))
        client = self.s3.get_client()
        replaced = []
        with psycopg2.connect(libpq_url(self._scratch_url)) as scratch, scratch.cursor() as cur:  # only for mogrify
            for text in statements:
                copy = COPY_RE.match(text)
                if copy and self._break_copy:
                    text = "SELECT 1 / 0"
                elif copy:
                    bucket, _, prefix = copy["url"][len("s3://") :].partition("/")
                    parts = [
                        pq.read_table(io.BytesIO(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
                        for key in keys_under(client, bucket, prefix)
                    ]
                    text = local_insert_sql(cur, copy["target"], pa.concat_tables(parts))
                replaced.append(text)
        scratch.close()
        super().run_sql(replaced)


def manager(postgres_url, schema, bucket, **kwargs) -> PostgresBackedRedshiftIOManager:
    io_manager = PostgresBackedRedshiftIOManager(
        redshift=client_resource_for(postgres_url),
        s3=S3Resource(),
        staging_prefix=f"s3://{bucket}/staging",
        iam_role_arn=ROLE,
        db_schema=schema,
        **kwargs,
    )
    io_manager._scratch_url = postgres_url
    return io_manager


def out(spec, first: str, last: str):
    return build_output_context(
        asset_key=[spec.name], definition_metadata=table_metadata(spec), asset_partitions_def=DAILY,
        asset_partition_key_range=PartitionKeyRange(first, last),
    )


def read_back(io_manager, spec, first: str, last: str) -> pa.Table:
    context = build_input_context(
        asset_key=[spec.name], upstream_output=out(spec, first, last), asset_partitions_def=DAILY,
        asset_partition_key_range=PartitionKeyRange(first, last),
    )
    return io_manager.load_input(context).read_all()


@pytest.fixture
def empty_schema(postgres_url):
    schema = f"rsio_{uuid.uuid4().hex[:10]}"
    yield schema
    with psycopg2.connect(libpq_url(postgres_url)) as conn, conn.cursor() as cur:
        cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    conn.close()


def test_io_manager_through_redshift_client_resource(postgres_url, empty_schema, s3):
    """Real: S3Resource -> moto (staging, reading back, deleting), parquet, RedshiftClientResource ->
    RedshiftClient.execute_queries / execute_query -> psycopg2 -> PostgreSQL 16 running the generated
    BEGIN/DELETE/CREATE TEMP/INSERT-dedupe/DELETE USING/MERGE/DROP/COMMIT, and load_input's SELECT and
    Arrow conversion. Substituted: the DDL file (Postgres instead of Redshift) and each COPY from S3
    (an INSERT of the staged parquet's rows); see PostgresBackedRedshiftIOManager."""
    client, bucket = s3
    io_manager = manager(postgres_url, empty_schema, bucket)

    io_manager.handle_output(out(DATETIME, "2018-01-01", "2018-01-03"), calendar(1, 2, 3))
    io_manager.handle_output(out(USERS, "2018-01-01", "2018-01-03"), users(("A1", "Ann", 1), ("A2", "Bob", 3)))
    io_manager.handle_output(out(PRODUCTS, "2018-01-01", "2018-01-03"), products("B1", "B2"))
    written = facts(review(1, "B1", "A1"), review(1, "B2", "A2", rating=1), review(3, "B1", "A2", text="x" * 10))
    io_manager.handle_output(out(REVIEWS_FACT, "2018-01-01", "2018-01-03"), written)

    ddl, *loads = io_manager._sent
    assert ddl[:3] == ["BEGIN", f'CREATE SCHEMA IF NOT EXISTS "{empty_schema}"', f'SET search_path TO "{empty_schema}"']
    assert [s.split()[0] for s in loads[0]] == ["BEGIN", "CREATE", "COPY", "CREATE", "INSERT", "DELETE", "MERGE", "DROP", "DROP", "COMMIT"]
    fact_load = loads[-1]
    assert fact_load[1] == f"DELETE FROM \"{empty_schema}\".\"reviews_fact\" WHERE \"review_date\" BETWEEN '2018-01-01' AND '2018-01-03'"
    copy = COPY_RE.match(fact_load[2])
    assert copy and copy["target"] == f'"{empty_schema}"."reviews_fact"'
    assert re.fullmatch(rf"s3://{bucket}/staging/reviews_fact/[0-9a-f]{{32}}/", copy["url"])
    assert f"IAM_ROLE '{ROLE}'" in fact_load[2]
    assert keys_under(client, bucket) == []  # staged objects deleted after the COPY

    back = read_back(io_manager, REVIEWS_FACT, "2018-01-01", "2018-01-03")
    assert back.schema == REVIEWS_FACT_SCHEMA
    assert sorted(back.to_pylist(), key=lambda r: (r["review_date"], r["asin"])) == written.to_pylist()
    assert read_back(io_manager, REVIEWS_FACT, "2018-01-02", "2018-01-02").num_rows == 0

    # An older re-run of a dimension does not overwrite; the fact range re-run is identical.
    io_manager.handle_output(out(USERS, "2018-01-01", "2018-01-01"), users(("A2", "Bobby", 1)))
    io_manager.handle_output(out(REVIEWS_FACT, "2018-01-01", "2018-01-03"), written)
    assert read_back(io_manager, USERS, "2018-01-01", "2018-01-03").to_pylist() == users(("A1", "Ann", 1), ("A2", "Bob", 3)).to_pylist()
    assert sorted(read_back(io_manager, REVIEWS_FACT, "2018-01-01", "2018-01-03").to_pylist(), key=lambda r: (r["review_date"], r["asin"])) == written.to_pylist()
    assert len([s for s in io_manager._sent if s[0] == "BEGIN" and "CREATE SCHEMA" in s[1]]) == 1  # DDL once

    # A failing COPY: the client raises, closes the connection, the DELETE is rolled back with it;
    # the staged objects are kept for inspection.
    io_manager._break_copy = True
    with pytest.raises(psycopg2.errors.DivisionByZero):
        io_manager.handle_output(out(REVIEWS_FACT, "2018-01-01", "2018-01-03"), written)
    assert read_back(io_manager, REVIEWS_FACT, "2018-01-01", "2018-01-03").num_rows == 3
    left = keys_under(client, bucket, "staging/reviews_fact/")
    assert len(left) == 1
    delete_staged(client, f"s3://{bucket}/", left)

    # keep_staged leaves the objects for inspection; an empty fact range only DELETEs.
    keeper = manager(postgres_url, empty_schema, bucket, keep_staged=True)
    keeper.handle_output(out(USERS, "2018-01-04", "2018-01-04"), users(("A9", "Zed", 4)))
    assert len(keys_under(client, bucket, "staging/users/")) == 1
    keeper.handle_output(out(REVIEWS_FACT, "2018-01-03", "2018-01-03"), facts())
    assert [s.split()[0] for s in keeper._sent[-1]] == ["BEGIN", "DELETE", "COMMIT"]
    assert read_back(keeper, REVIEWS_FACT, "2018-01-01", "2018-01-03").num_rows == 2


def test_io_manager_refuses_a_bad_role_before_staging(postgres_url, empty_schema, s3):
    client, bucket = s3
    io_manager = PostgresBackedRedshiftIOManager(
        redshift=client_resource_for(postgres_url), s3=S3Resource(), staging_prefix=f"s3://{bucket}/staging",
        iam_role_arn="arn:aws:iam::123456789012:role/x' --", db_schema=empty_schema,
    )
    with pytest.raises(ValueError):
        io_manager.handle_output(out(USERS, "2018-01-01", "2018-01-01"), users(("A1", "a", 1)))
    assert keys_under(client, bucket) == [] and io_manager._sent == []


def redshift_io_manager_from_env():
    """The backend switch: AMZN_BACKEND=redshift's IO manager under the environment's settings."""
    from amzn_assets.backends import backend_for
    from amzn_assets.settings import Settings

    return backend_for(Settings.from_env().with_overrides(backend="redshift", data_dir="/nonexistent")).warehouse_io_manager()


def test_from_env_and_the_backend_switch(monkeypatch):
    for name, value in {
        "AMZN_REDSHIFT_HOST": "example.abc123.us-east-1.redshift.amazonaws.com",
        "AMZN_REDSHIFT_PORT": "5440",
        "AMZN_REDSHIFT_USER": "amzn_admin",
        "AMZN_REDSHIFT_PASSWORD": "Sup3rSecret",
        "AMZN_REDSHIFT_DB": "amzn",
        "AMZN_REDSHIFT_IAM_ROLE": f"{ROLE},arn:aws:iam::123456789012:role/other",
        "AMZN_REDSHIFT_STAGING": "s3://amzn-staging/redshift",
        "AMZN_REDSHIFT_SCHEMA": "star",
    }.items():
        monkeypatch.setenv(name, value)
    io_manager = redshift_io_manager_from_env()
    assert io_manager.db_schema == "star"
    # EnvVar fields resolve when the resource is initialised for a run.
    with io_manager.process_config_and_initialize_cm() as resolved:
        assert resolved.redshift.host == "example.abc123.us-east-1.redshift.amazonaws.com"
        assert resolved.redshift.port == 5440
        assert resolved.redshift.password == "Sup3rSecret"
        assert resolved.staging_prefix == "s3://amzn-staging/redshift"
        assert resolved.copy_role == ROLE  # the first of the cluster's roles

    monkeypatch.delenv("AMZN_REDSHIFT_PORT")
    assert redshift_io_manager_from_env().redshift.port == 5439


def test_definitions_import_with_the_redshift_backend(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMZN_")}
    env |= {"AMZN_BACKEND": "redshift", "AMZN_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "import amzn_assets.definitions as d; print(type(d.defs().resources['io_manager']).__name__)"],
        env=env, capture_output=True, text=True, cwd=REPO, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("RedshiftIOManager")
