"""Plain-Python PostgreSQL table writes and reads with COPY (no Dagster import).

Identifiers go through psycopg2.sql.Identifier; values are parameters. Each write is one
transaction: a partition range is replaced whole (facts) or upserted by key (dimensions).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date

import psycopg2
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from amzn_assets.settings import libpq_url, sql_dir
from amzn_assets.storage.contract import count_by_key
from amzn_assets.transforms.dedupe import keep_last

_SCHEMA_LOCK = 7_411_001  # pg_advisory_xact_lock key: one DDL run at a time


def connect(url: str):
    # UTC sessions, so timestamptz values print as "+00" and read back unambiguously.
    return psycopg2.connect(libpq_url(url), options="-c TimeZone=UTC")


def ensure_schema(conn, schema: str) -> None:
    """Create the schema and the star tables from sql/postgres/schema.sql (idempotent)."""
    ddl = (sql_dir() / "postgres" / "schema.sql").read_text()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        cur.execute(ddl)


def _copy_in(cur, target: sql.Composable, table: pa.Table, batch_rows: int = 200_000) -> None:
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names)
    statement = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(target, columns).as_string(cur)
    # CSV per slice keeps the text buffer bounded; nulls are unquoted empty fields, empty strings "".
    for start in range(0, table.num_rows, batch_rows):
        buffer = io.BytesIO()
        pacsv.write_csv(table.slice(start, batch_rows), buffer, pacsv.WriteOptions(include_header=False))
        buffer.seek(0)
        cur.copy_expert(statement, buffer)


class ReferenceViolation(Exception):
    """Loaded rows point at dimension rows that do not exist; the load was rolled back."""


def replace_partitions(
    conn,
    schema: str,
    name: str,
    column: str,
    keys: Sequence[str],
    chunks: Iterable[pa.Table],
    references: Sequence[tuple[str, str, str]] = (),
    order_by: Sequence[str] = (),
) -> dict[str, int]:
    """Delete these partitions (any set of days), load their rows and check their references, in
    one transaction; return the rows loaded per partition.

    References are checked with one anti-join per dimension over the loaded partitions instead of
    per-row foreign-key triggers, which took 60% of a fact load's time (see docs/benchmarks.md).
    """
    target = sql.Identifier(schema, name)
    where, params = _partitions_predicate(column, keys)
    rows: dict[str, int] = {}
    with conn, conn.cursor() as cur:
        cur.execute(sql.SQL("DELETE FROM {} WHERE ").format(target) + where, params)
        for table in chunks:
            if order_by:  # rows in primary-key order append to the index instead of splitting pages
                table = table.sort_by([(c, "ascending") for c in order_by])
            _copy_in(cur, target, table)
            count_by_key(table, column, rows)
        for own, other, key in references:
            cur.execute(
                sql.SQL(
                    "SELECT DISTINCT f.{own} FROM {target} f WHERE f.{where} "
                    "AND NOT EXISTS (SELECT 1 FROM {other} d WHERE d.{key} = f.{own}) LIMIT 5"
                ).format(
                    own=sql.Identifier(own),
                    target=target,
                    where=where,
                    other=sql.Identifier(schema, other),
                    key=sql.Identifier(key),
                ),
                params,
            )
            missing = [r[0] for r in cur.fetchall()]
            if missing:
                raise ReferenceViolation(
                    f"{name}.{own} values missing from {other}.{key} (e.g. {missing}): "
                    f"materialize {other} for {min(keys)}..{max(keys)} first; nothing was loaded"
                )
    return {key: rows.get(key, 0) for key in keys}


def _partitions_predicate(column: str, keys: Sequence[str]) -> tuple[sql.Composable, tuple]:
    """`column BETWEEN first AND last` for a contiguous range of days, else `column = ANY(days)`."""
    days = sorted(set(keys))
    first, last = date.fromisoformat(days[0]), date.fromisoformat(days[-1])
    if (last - first).days + 1 == len(days):
        return sql.SQL("{} BETWEEN %s AND %s").format(sql.Identifier(column)), (days[0], days[-1])
    return sql.SQL("{} = ANY(%s::date[])").format(sql.Identifier(column)), (days,)


def upsert(conn, schema: str, name: str, key: Sequence[str], column: str, chunks: Iterable[pa.Table]) -> dict[str, int]:
    """Upsert rows by key: the row from the latest partition wins, also against older re-runs.

    Each chunk is reduced to one row per key (its latest partition) and sorted by key in Arrow, so
    PostgreSQL neither sorts nor meets a key twice in one INSERT ... ON CONFLICT.
    """
    target = sql.Identifier(schema, name)
    staging = sql.Identifier(f"_stage_{name}")
    rows: dict[str, int] = {}
    with conn, conn.cursor() as cur:
        cur.execute(
            sql.SQL("CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(staging, target)
        )
        for table in chunks:
            if table.num_rows == 0:
                continue
            latest = keep_last(table.sort_by([(column, "ascending")]), key)
            latest = latest.sort_by([(k, "ascending") for k in key])
            _copy_in(cur, staging, latest)
            cols = sql.SQL(", ").join(sql.Identifier(c) for c in latest.column_names)
            updates = sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in latest.column_names
                if c not in key
            )
            cur.execute(
                sql.SQL(
                    "INSERT INTO {target} ({cols}) SELECT {cols} FROM {staging} "
                    "ON CONFLICT ({keys}) DO UPDATE SET {updates} WHERE {target}.{part} <= EXCLUDED.{part}"
                ).format(
                    target=target,
                    cols=cols,
                    staging=staging,
                    keys=sql.SQL(", ").join(sql.Identifier(k) for k in key),
                    updates=updates,
                    part=sql.Identifier(column),
                )
            )
            cur.execute(sql.SQL("TRUNCATE {}").format(staging))
            count_by_key(table, column, rows)
    return rows


def read_partitions(conn, schema: str, name: str, arrow_schema: pa.Schema, column: str, keys: Sequence[str]) -> pa.Table:
    """Rows of these partitions, as an Arrow table in the table's schema (COPY TO, CSV)."""
    where, params = _partitions_predicate(column, keys)
    query = sql.SQL("SELECT {} FROM {} WHERE ").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in arrow_schema.names),
        sql.Identifier(schema, name),
    ) + where
    buffer = io.BytesIO()
    with conn.cursor() as cur:
        bound = cur.mogrify(query, params).decode()
        cur.copy_expert(f"COPY ({bound}) TO STDOUT WITH (FORMAT csv, HEADER true)", buffer)
    conn.rollback()
    buffer.seek(0)
    options = pacsv.ConvertOptions(
        column_types={f.name: (pa.string() if pa.types.is_timestamp(f.type) else f.type) for f in arrow_schema},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t", "true"],
        false_values=["f", "false"],
    )
    table = pacsv.read_csv(buffer, convert_options=options)
    return _fix_timestamps(table, arrow_schema).cast(arrow_schema)


def _fix_timestamps(table: pa.Table, arrow_schema: pa.Schema) -> pa.Table:
    """PostgreSQL prints timestamptz as '2018-01-01 00:00:00+00'."""
    import pyarrow.compute as pc

    for field in arrow_schema:
        if pa.types.is_timestamp(field.type):
            text = pc.utf8_slice_codeunits(table[field.name], start=0, stop=-3)  # drop "+00"
            parsed = pc.strptime(text, format="%Y-%m-%d %H:%M:%S", unit="s")
            index = table.schema.get_field_index(field.name)
            table = table.set_column(index, field.name, pc.assume_timezone(parsed, "UTC"))
    return table
