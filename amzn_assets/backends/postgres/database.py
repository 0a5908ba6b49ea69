"""PostgreSQL connections and the star schema's DDL (sql/postgres/schema.sql): a process's pooled
connection, and the schema created or checked once per process and server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from pathlib import Path

from amzn_assets.db_urls import libpq_url
from amzn_assets.sql_files import default_sql_dir

_SCHEMA_LOCK = 7_411_001  # pg_advisory_xact_lock key: one DDL run at a time


def connect(url: str):
    # UTC sessions, so timestamptz values print as "+00" and read back unambiguously.
    return psycopg2.connect(libpq_url(url), options="-c TimeZone=UTC")


_pool: dict[tuple[int, str], object] = {}


@contextmanager
def pooled(url: str) -> Iterator:
    """A connection of this process kept between calls (a run's steps, a stream job's tables):
    connecting costs more than a small partition's load. A connection that saw an error, or that
    the caller closed, is not reused."""
    key = (os.getpid(), url)  # never share a connection with a forked child
    conn = _pool.pop(key, None)
    if conn is None or conn.closed or conn.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        conn = connect(url)
    try:
        yield conn
    except BaseException:
        conn.close()
        raise
    if not conn.closed and conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_IDLE:
        _pool[key] = conn
    else:
        conn.close()


def ensure_schema(conn, schema: str, sql_dir: str = "") -> None:
    """Create the schema and the star tables from sql/postgres/schema.sql, then their column comments
    (sql/postgres/comments.sql, generated from amzn_assets/tables.py) (idempotent)."""
    ddl = _ddl(sql_dir) + "\n" + (_sql_folder(sql_dir) / "postgres" / "comments.sql").read_text()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        cur.execute(ddl)


_current: set[tuple[str, str]] = set()


def ensure_schema_once(conn, schema: str, sql_dir: str = "") -> None:
    """ensure_schema, skipped when this process already did it for this server and schema or when
    every table, column and index the DDL declares exists (one catalog query). Running the DDL on a
    schema in use is not free: CREATE INDEX IF NOT EXISTS takes a SHARE lock on its table first,
    so it waits for every load in progress and holds up the loads queued behind it."""
    dsn = conn.dsn
    if (dsn, schema) in _current:
        return
    if not _schema_is_current(conn, schema, sql_dir):
        ensure_schema(conn, schema, sql_dir)
    _current.add((dsn, schema))


def _sql_folder(sql_dir: str) -> Path:
    """AMZN_SQL_DIR (Settings.sql_dir, passed down by the backend), else the repository's sql/."""
    return Path(sql_dir) if sql_dir else default_sql_dir()


def _ddl(sql_dir: str = "") -> str:
    return (_sql_folder(sql_dir) / "postgres" / "schema.sql").read_text()


_CREATE_TABLE = re.compile(r'CREATE TABLE IF NOT EXISTS "?(\w+)"?\s*\((.*?)\n\);', re.S)
_COLUMN = re.compile(r'^\s+"?(\w+)"?\s+\w', re.M)
_CREATE_INDEX = re.compile(r'CREATE (?:UNIQUE )?INDEX IF NOT EXISTS "?(\w+)"?')


def declared_objects(ddl: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(table, column) pairs and index names that the DDL creates."""
    columns = {
        (table, column)
        for table, body in _CREATE_TABLE.findall(ddl)
        for column in _COLUMN.findall(body)
        if column.upper() not in ("CONSTRAINT", "PRIMARY", "UNIQUE", "FOREIGN", "CHECK")
    }
    return columns, set(_CREATE_INDEX.findall(ddl))


def _schema_is_current(conn, schema: str, sql_dir: str = "") -> bool:
    columns, indexes = declared_objects(_ddl(sql_dir))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'i')",
            (schema,),
        )
        found = cur.fetchall()
    conn.rollback()
    return columns <= set(found) and indexes <= {relation for relation, _ in found}
