"""One DuckDB query over named Arrow tables, its result cast to a table's schema."""

from __future__ import annotations

from collections.abc import Mapping

import duckdb
import pyarrow as pa


def query(sql: str, tables: Mapping[str, pa.Table], schema: pa.Schema | None = None, params: list | None = None) -> pa.Table:
    conn = duckdb.connect()
    try:
        for name, table in tables.items():
            conn.register(name, table)
        result = conn.sql(sql, params=params or None).to_arrow_table()
    finally:
        conn.close()
    return result.select(schema.names).cast(schema) if schema is not None else result


def month_of(column: str) -> str:
    """The first day of the month of a date column, as a DATE."""
    return f"CAST(date_trunc('month', {column}) AS DATE)"
