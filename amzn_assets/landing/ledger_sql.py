"""Statement helpers of the landing ledger's database (ledger.py): IN lists and many-row inserts
that stay fast on SQLite, and the SQLite connection settings."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator, Sequence

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement


def in_list(conn: Connection, column: ColumnElement, values: list[str]) -> Iterator[ColumnElement[bool]]:
    """Conditions `column IN values`, together covering all values: on SQLite one, with the values
    in one JSON parameter (rendering thousands of bound parameters was most of the lookup of a
    batch); elsewhere one per 500 values."""
    if conn.dialect.name == "sqlite":
        listed = func.json_each(json.dumps(values)).table_valued("value")
        yield column.in_(select(listed.c.value))
        return
    for start in range(0, len(values), 500):
        yield column.in_(values[start : start + 500])


def insert_many(conn: Connection, table: Table, rows: Sequence[dict], **shared) -> None:
    """Insert rows (dicts with the same keys), each with the shared values.

    On SQLite the rows go straight to the driver's executemany: SQLAlchemy's per-row parameter
    handling was most of the time of committing a batch of 5,000 files.
    """
    keys = list(rows[0])
    dialect = conn.dialect
    binds = {k: table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in keys + list(shared)}
    if dialect.name != "sqlite" or len(keys) < 2 or any(binds[k] for k in keys):
        conn.execute(insert(table), [dict(r, **shared) for r in rows])
        return
    tail = tuple(binds[k](v) if binds[k] else v for k, v in shared.items())
    columns = keys + list(shared)
    values = operator.itemgetter(*keys)
    conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [values(r) + tail for r in rows],
    )


def sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed batch must survive a power cut
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
