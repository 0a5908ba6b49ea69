"""`amzn-assets query` on PostgreSQL and Redshift: the SQL runs in the star schema, with `stations`
and `products` shadowed by their whole union (whole_dimensions.py) where the SQL names them."""

from __future__ import annotations

from psycopg2 import sql as pgsql

from amzn_assets.backends.postgres.database import connect as pg_connect
from amzn_assets.warehouse.query import QueryResult
from amzn_assets.warehouse.whole_dimensions import WHOLE_DIMENSIONS, quote, union_sql


def run_postgres_query(url: str, schema: str, sql: str, shadow: str = "VIEW") -> QueryResult:
    """The same SQL on the PostgreSQL backend (the star tables live in `schema`). `stations` and
    `products`, where the SQL names them, are the session's temporary union of the daily dimension
    and its reference table (whole_dimensions.py), which the session's temporary schema puts before
    the tables: shadow "VIEW" on PostgreSQL, "TABLE" on Redshift (which has no temporary views)."""
    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
            for statement in _shadow_statements(cur, schema, sql, shadow):
                cur.execute(statement)
            cur.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return QueryResult(columns, [tuple(r) for r in cur.fetchall()] if columns else [])
    finally:
        conn.rollback()
        conn.close()


def _shadow_statements(cur, schema: str, sql: str, shadow: str) -> list[str]:
    if shadow not in ("VIEW", "TABLE"):
        raise ValueError(f"shadow {shadow!r}: VIEW or TABLE")
    statements = []
    for dimension in WHOLE_DIMENSIONS:
        if not dimension.mentioned_in(sql):
            continue
        seen, reference = (f"{quote(schema)}.{quote(t)}" for t in (dimension.name, dimension.reference.name))
        # pg_class, not to_regclass (which Redshift lacks)
        cur.execute(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname IN (%s, %s)",
            (schema, dimension.name, dimension.reference.name),
        )
        found = {row[0] for row in cur.fetchall()}
        has_seen, has_reference = dimension.name in found, dimension.reference.name in found
        if has_seen or has_reference:
            union = union_sql(dimension, seen if has_seen else None, reference if has_reference else None)
            statements.append(f"CREATE TEMP {shadow} {quote(dimension.name)} AS {union}")
    return statements


