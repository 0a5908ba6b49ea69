"""Column descriptions are written once, in amzn_assets/tables.py: the assets' TableColumn descriptions
(the UI's column table) and sql/<dialect>/comments.sql (COMMENT ON COLUMN, generated) say the same, and
PostgreSQL stores them when the backend creates its schema.

After a change to COLUMN_DESCRIPTIONS: AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/backends/test_sql_comments.py
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from amzn_assets import tables
from amzn_assets.backends.redshift.ddl import redshift_ddl, split_sql
from amzn_assets.wiring.catalog import table_metadata

SQL = Path(__file__).resolve().parents[2] / "sql"


@pytest.mark.parametrize("dialect", ["postgres", "redshift"])
def test_comments_sql_is_generated_from_tables_py(dialect):
    path = SQL / dialect / "comments.sql"
    if os.environ.get("AMZN_UPDATE_SNAPSHOTS") == "1":
        path.write_text(tables.comment_statements(dialect))
    assert path.read_text() == tables.comment_statements(dialect), f"{path} is stale: AMZN_UPDATE_SNAPSHOTS=1 rewrites it"


def test_every_star_column_has_a_description_in_the_asset_metadata():
    for spec in tables.ALL_TABLES:
        columns = table_metadata(spec)["dagster/column_schema"].columns
        assert [c.name for c in columns] == spec.schema.names
        assert all(c.description for c in columns), spec.name
    assert tables.PRODUCTS.column_description("category") != tables.REVIEWS_FACT.column_description("category")


def test_redshift_ddl_ends_with_the_comments():
    statements = split_sql(redshift_ddl())
    comments = [s for s in statements if s.startswith("COMMENT ON COLUMN")]
    assert len(comments) == sum(len(t.schema) for t in tables.STAR_TABLES + tables.REFERENCE_TABLES + tables.ANALYSIS_TABLES)
    assert statements[-len(comments):] == comments  # after every CREATE TABLE they describe


def test_postgres_stores_the_descriptions(postgres_url):
    from amzn_assets.backends.postgres import database as pg_database

    schema = f"amzn_comments_{uuid.uuid4().hex[:10]}"
    conn = pg_database.connect(postgres_url)
    try:
        pg_database.ensure_schema(conn, schema)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
                "WHERE n.nspname = %s AND c.relname IN ('reviews_fact', 'datetime', 'climate')",
                (schema,),
            )
            stored = {(t, c): d for t, c, d in cur.fetchall()}
        assert stored[("reviews_fact", "rating")] == tables.REVIEWS_FACT.column_description("rating")
        assert stored[("datetime", "date")] == "Calendar day"
        assert stored[("climate", "wt16")].startswith("NOAA WT16: rain")
        assert all(stored[("reviews_fact", c)] for c in tables.REVIEWS_FACT_SCHEMA.names)
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.commit()
        conn.close()
