"""Query the parquet warehouse (local folder or s3://) with DuckDB: every table asset is a view under
its asset name.

Fact tables are the union of their partitions. Dimension tables (write mode "upsert") are the
upsert of their partitions by primary key, the latest partition winning; `stations` and `products`
add the entities of the reference tables that no fact names (whole_dimensions.py), on every backend.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.dataset as ds
from pyarrow import fs

from amzn_assets.tables import ALL_TABLES, TableSpec
from amzn_assets.warehouse.query import QueryResult, counts_with
from amzn_assets.warehouse.whole_dimensions import BY_NAME as WHOLE_BY_NAME
from amzn_assets.warehouse.whole_dimensions import WHOLE_DIMENSIONS, quote, union_sql


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(spec: TableSpec, folder: Path | None, source: str | None = None) -> str:
    source = source or f"read_parquet({_literal(str(folder / '*.parquet'))}, union_by_name => true)"
    if spec.mode in ("replace", "whole"):
        return f"SELECT * FROM {source}"
    key = ", ".join(quote(c) for c in spec.primary_key)
    return (
        f"SELECT * FROM {source} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {quote(spec.partition_column)} DESC) = 1"
    )


def connect(warehouse: Path | str, endpoint_url: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per materialized table asset (a folder or s3://...;
    endpoint_url: a local S3 API); `stations` and `products` hold every landed entity
    (amzn_assets.warehouse.whole_dimensions)."""
    conn = duckdb.connect()
    if str(warehouse).startswith("s3://"):
        selects = _s3_tables(conn, str(warehouse), endpoint_url)
    else:
        selects = _local_tables(conn, Path(warehouse))
    for name, select in selects.items():
        if name not in WHOLE_BY_NAME:
            conn.execute(f"CREATE VIEW {quote(name)} AS {select}")
    for dimension in WHOLE_DIMENSIONS:
        seen, reference = selects.get(dimension.name), dimension.reference.name
        if seen is not None or reference in selects:
            union = union_sql(dimension, f"({seen})" if seen else None, quote(reference) if reference in selects else None)
            conn.execute(f"CREATE VIEW {quote(dimension.name)} AS {union}")
    return conn


def _local_tables(conn: duckdb.DuckDBPyConnection, warehouse: Path) -> dict[str, str]:
    """The SELECT of each materialized table of a local warehouse, by name."""
    selects = {}
    for spec in ALL_TABLES:
        folder = warehouse / spec.name
        if spec.mode == "whole":
            path = warehouse / f"{spec.name}.parquet"
            if path.is_file():
                selects[spec.name] = f"SELECT * FROM read_parquet({_literal(str(path))})"
        elif folder.is_dir() and any(folder.glob("*.parquet")):
            selects[spec.name] = view_sql(spec, folder)
        elif folder.is_dir():  # written, every partition empty: an empty day is stored as no file
            conn.register(f"__{spec.name}", spec.schema.empty_table())
            selects[spec.name] = f"SELECT * FROM {quote('__' + spec.name)}"
    return selects


def _s3_tables(conn: duckdb.DuckDBPyConnection, url: str, endpoint_url: str | None) -> dict[str, str]:
    """Arrow datasets over S3 (pyarrow's S3 client: DuckDB's httpfs extension is a download away)."""
    s3 = fs.S3FileSystem(endpoint_override=endpoint_url)
    root = url[len("s3://") :].rstrip("/")
    selects = {}
    for spec in ALL_TABLES:
        if spec.mode == "whole":
            info = s3.get_file_info(f"{root}/{spec.name}.parquet")
            files = [info.path] if info.type == fs.FileType.File else []
        else:
            selector = fs.FileSelector(f"{root}/{spec.name}", allow_not_found=True)
            files = [f.path for f in s3.get_file_info(selector) if f.path.endswith(".parquet")]
        if files:
            conn.register(f"__{spec.name}", ds.dataset(files, filesystem=s3, format="parquet"))
            selects[spec.name] = view_sql(spec, None, source=quote("__" + spec.name))
    return selects


def run_query(warehouse: Path | str, sql: str, endpoint_url: str | None = None) -> QueryResult:
    conn = connect(warehouse, endpoint_url)
    try:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description] if cursor.description else []
        return QueryResult(columns, cursor.fetchall() if columns else [])
    except duckdb.CatalogException as exc:
        known = [r[0] for r in conn.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()]
        raise LookupError(f"{exc}\nTables materialized so far: {', '.join(sorted(known)) or 'none'}") from exc
    finally:
        conn.close()


def table_counts(warehouse: Path | str) -> dict[str, tuple[int, int]]:
    """Rows and distinct partitions per materialized table of a parquet warehouse."""
    return counts_with(lambda sql: run_query(warehouse, sql))


