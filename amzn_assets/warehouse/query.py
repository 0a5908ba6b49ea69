"""Query the parquet warehouse with DuckDB: every table asset is a view under its asset name.

Fact tables are the union of their partitions. Dimension tables (write mode "upsert") are the
upsert of their partitions by primary key, the latest partition winning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from amzn_assets import settings
from amzn_assets.tables import ALL_TABLES, TableSpec


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def view_sql(spec: TableSpec, folder: Path | None, source: str | None = None) -> str:
    source = source or f"read_parquet({_literal(str(folder / '*.parquet'))}, union_by_name => true)"
    if spec.mode == "replace":
        return f"SELECT * FROM {source}"
    key = ", ".join(_quote(c) for c in spec.primary_key)
    return (
        f"SELECT * FROM {source} "
        f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {_quote(spec.partition_column)} DESC) = 1"
    )


def connect(warehouse: Path | str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with one view per materialized table asset (a folder or s3://...)."""
    if str(warehouse).startswith("s3://"):
        return _connect_s3(str(warehouse))
    warehouse = Path(warehouse)
    conn = duckdb.connect()
    for spec in ALL_TABLES:
        folder = warehouse / spec.name
        if folder.is_dir() and any(folder.glob("*.parquet")):
            conn.execute(f"CREATE VIEW {_quote(spec.name)} AS {view_sql(spec, folder)}")
        elif folder.is_dir():  # written, every partition empty: an empty day is stored as no file
            conn.register(f"__{spec.name}", spec.schema.empty_table())
            conn.execute(f"CREATE VIEW {_quote(spec.name)} AS SELECT * FROM {_quote('__' + spec.name)}")
    return conn


def _connect_s3(url: str) -> duckdb.DuckDBPyConnection:
    """Arrow datasets over S3 (pyarrow's S3 client: DuckDB's httpfs extension is a download away)."""
    import os

    import pyarrow.dataset as ds
    from pyarrow import fs

    s3 = fs.S3FileSystem(endpoint_override=os.environ.get("AWS_ENDPOINT_URL") or None)
    root = url[len("s3://") :].rstrip("/")
    conn = duckdb.connect()
    for spec in ALL_TABLES:
        selector = fs.FileSelector(f"{root}/{spec.name}", allow_not_found=True)
        files = [f.path for f in s3.get_file_info(selector) if f.path.endswith(".parquet")]
        if files:
            conn.register(f"__{spec.name}", ds.dataset(files, filesystem=s3, format="parquet"))
            conn.execute(f"CREATE VIEW {_quote(spec.name)} AS {view_sql(spec, None, source=_quote('__' + spec.name))}")
    return conn


def run_query(warehouse: Path | str, sql: str) -> QueryResult:
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


def table_counts(warehouse: Path | str) -> dict[str, tuple[int, int]]:
    """Rows and distinct partitions per materialized table of a parquet warehouse."""
    return counts_with(lambda sql: run_query(warehouse, sql))


def run_postgres_query(url: str, schema: str, sql: str) -> QueryResult:
    """The same SQL on the PostgreSQL backend (the star tables live in `schema`)."""
    from psycopg2 import sql as pgsql

    from amzn_assets.storage.pg_tables import connect as pg_connect

    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(pgsql.SQL("SET search_path TO {}").format(pgsql.Identifier(schema)))
            cur.execute(sql)
            columns = [d[0] for d in cur.description] if cur.description else []
            return QueryResult(columns, [tuple(r) for r in cur.fetchall()] if columns else [])
    finally:
        conn.rollback()
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


def query_from_env(local_warehouse: Path):
    """The `amzn-assets query` target for AMZN_BACKEND: a function from SQL to QueryResult."""
    import os

    backend = os.environ.get("AMZN_BACKEND", "local")
    if backend == "postgres":
        return lambda sql: run_postgres_query(
            os.environ["AMZN_POSTGRES_URL"], os.environ.get("AMZN_POSTGRES_SCHEMA", "public"), sql
        )
    if backend == "redshift":  # Redshift speaks PostgreSQL's protocol
        url = (
            f"postgresql://{os.environ['AMZN_REDSHIFT_USER']}:{os.environ['AMZN_REDSHIFT_PASSWORD']}"
            f"@{os.environ['AMZN_REDSHIFT_HOST']}:{os.environ.get('AMZN_REDSHIFT_PORT', '5439')}/{os.environ['AMZN_REDSHIFT_DB']}"
        )
        return lambda sql: run_postgres_query(url, os.environ.get("AMZN_REDSHIFT_SCHEMA", "public"), sql)
    if backend == "s3":
        location = settings.s3_prefix() + "/warehouse"
        return lambda sql: run_query(location, sql)
    return lambda sql: run_query(local_warehouse, sql)


def counts_with(query) -> dict[str, tuple[int, int]]:
    """Rows and distinct partitions per star or staging table that exists, through any backend."""
    counts = {}
    for spec in ALL_TABLES:
        try:
            result = query(f"SELECT count(*), count(DISTINCT {_quote(spec.partition_column)}) FROM {_quote(spec.name)}")
        except Exception:  # noqa: BLE001 - the table is not materialized (or not on this backend)
            continue
        counts[spec.name] = tuple(result.rows[0])
    return counts
