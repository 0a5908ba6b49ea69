"""Query the parquet warehouse with DuckDB: every table asset is a view under its asset name.

Fact tables are the union of their partitions. Dimension tables (write mode "upsert") are the
upsert of their partitions by primary key, the latest partition winning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from amzn_assets.tables import ALL_TABLES, TableSpec


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(spec: TableSpec, folder: Path) -> str:
    source = f"read_parquet({_literal(str(folder / '*.parquet'))}, union_by_name => true)"
    if spec.mode == "replace":
        return f"SELECT * FROM {source}"
    key = ", ".join(_quote(c) for c in spec.primary_key)
    return (
        f"SELECT * FROM {source} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {_quote(spec.partition_column)} DESC) = 1"
    )


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per materialized table asset."""
    conn = duckdb.connect()
    for spec in ALL_TABLES:
        folder = warehouse / spec.name
        if folder.is_dir() and any(folder.glob("*.parquet")):
            conn.execute(f"CREATE VIEW {_quote(spec.name)} AS {view_sql(spec, folder)}")
    return conn


def run_query(warehouse: Path, sql: str) -> QueryResult:
    conn = connect(warehouse)
    try:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.CatalogException as exc:
        known = [r[0] for r in conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        raise LookupError(f"{exc}\nTables materialized so far: {', '.join(sorted(known)) or 'none'}") from exc
    finally:
        conn.close()


def table_counts(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Rows and partitions (files) per materialized table."""
    conn = connect(warehouse)
    try:
        counts = {}
        for spec in ALL_TABLES:
            folder = warehouse / spec.name
            if folder.is_dir():
                files = len(list(folder.glob("*.parquet")))
                if files:
                    counts[spec.name] = (conn.execute(f"SELECT count(*) FROM {_quote(spec.name)}").fetchone()[0], files)
        return counts
    finally:
        conn.close()


def format_table(result: QueryResult, max_width: int = 60) -> str:
    def cell(value) -> str:
        text = "NULL" if value is None else str(value)
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    cells = [[cell(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(result.columns)]
    line = lambda values: " | ".join(v.ljust(w) for v, w in zip(values, widths))  # noqa: E731
    out = [line(result.columns), "-+-".join("-" * w for w in widths)] + [line(r) for r in cells]
    out.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
    return "\n".join(out)
