"""Plain-Python PostgreSQL reads (no Dagster import): partitions back as Arrow (COPY TO), which
of a set of keys a table holds (an anti-join against a COPYed probe). Writes: writes.py."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg2 import sql

from amzn_assets.backends.postgres.binary_copy import copy_tables
from amzn_assets.storage.contract import is_contiguous


def partitions_predicate(column: str, keys: Sequence[str]) -> tuple[sql.Composable, tuple]:
    """`column BETWEEN first AND last` for a contiguous range of days, else `column = ANY(days)`."""
    days = sorted(set(keys))
    if is_contiguous(days):
        return sql.SQL("{} BETWEEN %s AND %s").format(sql.Identifier(column)), (days[0], days[-1])
    return sql.SQL("{} = ANY(%s::date[])").format(sql.Identifier(column)), (days,)


def read_partitions(conn, schema: str, name: str, arrow_schema: pa.Schema, column: str, keys: Sequence[str]) -> pa.Table:
    """Rows of these partitions, as an Arrow table in the table's schema (COPY TO, CSV; timestamps
    as epoch seconds, which Arrow casts without parsing text)."""
    where, params = partitions_predicate(column, keys)
    query = sql.SQL("SELECT {} FROM {} WHERE ").format(
        sql.SQL(", ").join(_selected(f) for f in arrow_schema),
        sql.Identifier(schema, name),
    ) + where
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        bound = cur.mogrify(query, params).decode()
        cur.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    conn.rollback()
    buffer.seek(0)
    options = pacsv.ConvertOptions(
        column_types={f.name: (pa.int64() if pa.types.is_timestamp(f.type) else f.type) for f in arrow_schema},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "true"],
        false_values=["f", "false"],
    )
    # Review texts hold newlines: quoted values may span lines (else a block boundary inside one breaks the parse).
    table = pacsv.read_csv(buffer, parse_options=pacsv.ParseOptions(newlines_in_values=True), convert_options=options)
    return table.cast(arrow_schema)  # int64 epoch seconds -> timestamp[s, UTC]


def _selected(field: pa.Field) -> sql.Composable:
    if pa.types.is_timestamp(field.type):
        return sql.SQL("CAST(EXTRACT(EPOCH FROM {c}) AS bigint) AS {c}").format(c=sql.Identifier(field.name))
    return sql.Identifier(field.name)


def existing_values(conn, schema: str, name: str, column: str, values: pa.Array) -> pa.Array:
    """The distinct values of `values` found in name.column: the values go in with one binary COPY
    into a temporary table (gone with the transaction), anti-joined with the table; what comes back
    is the few that are missing, and Arrow removes them (20 `= ANY(array)` statements of 50,000
    Python values each, returning the 1M found, took 3x as long)."""
    wanted = pc.unique(values.drop_null())
    if len(wanted) == 0:
        return pa.array([], values.type)
    target = sql.Identifier(schema, name)
    probe = sql.Identifier("_probe_" + hashlib.md5(f"{schema}.{name}.{column}".encode()).hexdigest()[:16])
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} AS value FROM {} WITH NO DATA").format(
                    probe, sql.Identifier(column), target
                )
            )
            copy_tables(cur, probe, [pa.table({"value": wanted})])
            missing = pa.array(missing_values(cur, probe, target, column), wanted.type)
    finally:
        conn.rollback()
    return wanted.filter(pc.invert(pc.is_in(wanted, missing))).cast(values.type)


def missing_values(cur, probe: sql.Composable, table: sql.Composable, column: str, limit: int | None = None) -> list:
    """The distinct values of a probe table's `value` column that table.column lacks (an anti-join;
    the probe analyzed first, so the planner knows its size)."""
    cur.execute(sql.SQL("ANALYZE {}").format(probe))
    query = sql.SQL("SELECT DISTINCT p.value FROM {} p WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE t.{} = p.value)").format(
        probe, table, sql.Identifier(column)
    )
    cur.execute(query + (sql.SQL(" LIMIT {}").format(sql.Literal(limit)) if limit else sql.SQL("")))
    return [row[0] for row in cur.fetchall()]
