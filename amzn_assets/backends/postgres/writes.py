"""Plain-Python PostgreSQL table writes (no Dagster import; reads: reads.py).

Identifiers go through psycopg2.sql.Identifier; values are parameters. Each write is one
transaction: a partition range is replaced whole (facts) or upserted by key (dimensions). Rows go
in with binary COPY (amzn_assets.backends.postgres.binary_copy), a chunk of days at a time, the next chunk
prepared while the server takes the current one; docs/benchmarks.md says what each choice bought.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
from psycopg2 import sql

from amzn_assets.day_stats import count_by_key
from amzn_assets.backends.postgres.binary_copy import copy_tables, prefetched
from amzn_assets.backends.postgres.reads import missing_values, partitions_predicate
from amzn_assets.storage.contract import is_contiguous
from amzn_assets.transforms.dedupe import keep_last

_DIMENSION_LOCK = 7_411_002  # pg_advisory_xact_lock(_DIMENSION_LOCK, hashtext(table)): one upsert per table at a time


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

    Each chunk goes in with a binary COPY, sorted by order_by (the primary key: rows in key order
    append to the index instead of splitting its pages). When the range holds every row of the
    table (a first load, a full re-run) the table is locked, truncated and loaded without its
    indexes, which are built afterwards: a sort-based build is a third of the cost of 1M index
    insertions. References are checked set-wise: the distinct keys of each chunk go to a temporary
    table, anti-joined with the dimension at the end (per-row foreign-key triggers took 60% of a
    fact load's time; see docs/benchmarks.md).
    """
    target = sql.Identifier(schema, name)
    where, params = partitions_predicate(column, keys)
    rows: dict[str, int] = {}

    def in_key_order(table: pa.Table) -> pa.Table:
        return table.sort_by([(c, "ascending") for c in order_by]) if order_by else table

    # Decided in a transaction of its own: a lock taken here and upgraded later would deadlock
    # against a concurrent load doing the same.
    bulk = _holds_only(conn, target, column, keys)
    with conn, conn.cursor() as cur:
        if bulk:
            cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(target))
            bulk = _holds_only(conn, target, column, keys, commit=False)  # a concurrent load may have committed meanwhile
        if bulk:
            cur.execute(sql.SQL("TRUNCATE {}").format(target))
            indexes = _drop_indexes(cur, target)
        else:
            cur.execute(sql.SQL("DELETE FROM {} WHERE ").format(target) + where, params)
        checks = [_ReferenceKeys(cur, schema, name, target, *reference) for reference in references]
        for table in prefetched(in_key_order(t) for t in chunks if t.num_rows):
            copy_tables(cur, target, [table])
            count_by_key(table, column, rows)
            for check in checks:
                check.add(table)
        if bulk:
            _create_indexes(cur, indexes)
            cur.execute(sql.SQL("ANALYZE {}").format(target))
        for check in checks:
            check.verify(keys)
    return {key: rows.get(key, 0) for key in keys}


def replace_table(conn, schema: str, name: str, key: Sequence[str], table: pa.Table) -> int:
    """Replace an unpartitioned table's rows (reference data) in one transaction: readers see the
    old rows until it commits. Replacements of one table take turns (the dimension lock), so a
    second one deletes what the first loaded instead of colliding with it on the key."""
    target = sql.Identifier(schema, name)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_DIMENSION_LOCK, f"{schema}.{name}"))
        cur.execute(sql.SQL("DELETE FROM {}").format(target))
        if table.num_rows:
            copy_tables(cur, target, [table.sort_by([(k, "ascending") for k in key])])
        cur.execute(sql.SQL("ANALYZE {}").format(target))
    return table.num_rows


def _holds_only(conn, target: sql.Composable, column: str, keys: Sequence[str], commit: bool = True) -> bool:
    """True when the contiguous range of days `keys` holds every row of the table (an empty table
    included): two index probes on the partition column. Scattered days: False."""
    days = sorted(set(keys))
    if not is_contiguous(days):
        return False
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "SELECT NOT EXISTS (SELECT 1 FROM {t} WHERE {c} < %s) AND NOT EXISTS (SELECT 1 FROM {t} WHERE {c} > %s)"
            ).format(t=target, c=sql.Identifier(column)),
            (days[0], days[-1]),
        )
        (only,) = cur.fetchone()
    if commit:
        conn.commit()
    return only


def _drop_indexes(cur, target: sql.Composable) -> list[sql.Composable]:
    """Drop the table's indexes and key constraints; return the statements that re-create them."""
    cur.execute(
        "SELECT c.conname, pg_get_constraintdef(c.oid), NULL FROM pg_constraint c "
        "WHERE c.conrelid = %(t)s::regclass AND c.contype IN ('p', 'u') "
        "UNION ALL SELECT NULL, pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i "
        "WHERE i.indrelid = %(t)s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        {"t": target.as_string(cur)},
    )
    create = []
    for constraint, definition, index in cur.fetchall():
        if constraint:
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(target, sql.Identifier(constraint)))
            create.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(target, sql.Identifier(constraint)) + sql.SQL(definition))
        else:
            cur.execute(sql.SQL("DROP INDEX " + index))  # regclass text: quoted and schema-qualified as needed
            create.append(sql.SQL(definition))
    return create


def _create_indexes(cur, statements: Sequence[sql.Composable]) -> None:
    cur.execute(sql.SQL("SET LOCAL maintenance_work_mem = {}").format(sql.Literal(INDEX_BUILD_MEMORY)))
    for statement in statements:
        cur.execute(statement)


INDEX_BUILD_MEMORY = "256MB"  # per index build after a bulk load, for this transaction only


class _ReferenceKeys:
    """The distinct values of one referencing column, gathered chunk by chunk in a session
    temporary table, then anti-joined with the referenced dimension once (memory stays a chunk's)."""

    def __init__(self, cur, schema: str, name: str, target, own: str, other: str, key: str):
        self.cur, self.own, self.other, self.key, self.name = cur, own, other, key, name
        self.other_table = sql.Identifier(schema, other)
        self.keys = sql.Identifier("_ref_" + hashlib.md5(f"{schema}.{name}.{own}".encode()).hexdigest()[:16])
        cur.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} AS SELECT {} AS value FROM {} WITH NO DATA").format(
                self.keys, sql.Identifier(own), target
            )
        )  # empty: verify() empties it, and a rolled-back load takes its rows along

    def add(self, table: pa.Table) -> None:
        copy_tables(self.cur, self.keys, [pa.table({"value": pc.unique(table[self.own])})])

    def verify(self, keys: Sequence[str]) -> None:
        missing = missing_values(self.cur, self.keys, self.other_table, self.key, limit=5)
        self.cur.execute(sql.SQL("TRUNCATE {}").format(self.keys))
        if missing:
            raise ReferenceViolation(
                f"{self.name}.{self.own} values missing from {self.other}.{self.key} (e.g. {missing}): "
                f"materialize {self.other} for {min(keys)}..{max(keys)} first; nothing was loaded"
            )


def upsert(conn, schema: str, name: str, key: Sequence[str], column: str, chunks: Iterable[pa.Table]) -> dict[str, int]:
    """Upsert rows by key: the row from the latest partition wins, also against older re-runs.

    Per chunk: one row per key (its latest partition), sorted by key in Arrow, binary-COPYed into a
    session temporary table, then one MERGE that inserts the new keys and updates only the rows
    that are older and differ (a re-run writes nothing; ON CONFLICT DO UPDATE rewrote every row
    and took 2-5x as long). MERGE is not safe against a concurrent insert of the same key, so
    upserts of one table take turns: a transaction-scoped advisory lock per table serializes them
    (concurrent backfill runs share reviewers and products), never a fact load.

    Into an empty table (a first load) every chunk is staged, then one INSERT of each key's latest
    row, in key order, into the table without its indexes, which are built afterwards (1M
    reviewers: 2.6 s instead of 4.8 s of MERGEs into a growing index).
    """
    target = sql.Identifier(schema, name)
    staging = sql.Identifier(f"_stage_{schema}_{name}")
    rows: dict[str, int] = {}

    def latest_by_key(table: pa.Table) -> tuple[pa.Table, pa.Table]:
        latest = keep_last(table.sort_by([(column, "ascending")]), key)
        return latest.sort_by([(k, "ascending") for k in key]), table

    bulk = _is_empty(conn, target)  # in a transaction of its own, as in replace_partitions
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_DIMENSION_LOCK, f"{schema}.{name}"))
        if bulk:
            cur.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(target))
            bulk = _is_empty(conn, target, commit=False)
        # Created once per session (a pooled connection keeps it) and emptied after each use.
        cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)").format(staging, target))
        indexes = _drop_indexes(cur, target) if bulk else []
        columns: Sequence[str] = ()
        for latest, table in prefetched(latest_by_key(t) for t in chunks if t.num_rows):
            copy_tables(cur, staging, [latest])
            columns = latest.column_names
            if not bulk:
                cur.execute(_merge(target, staging, columns, key, column))
                cur.execute(sql.SQL("TRUNCATE {}").format(staging))
            count_by_key(table, column, rows)
        if bulk:
            cur.execute(sql.SQL("SET LOCAL work_mem = {}").format(sql.Literal(INDEX_BUILD_MEMORY)))
            if columns:
                cur.execute(_insert_latest(target, staging, columns, key, column))
            _create_indexes(cur, indexes)
            cur.execute(sql.SQL("TRUNCATE {}").format(staging))
    return rows


def _is_empty(conn, target: sql.Composable, commit: bool = True) -> bool:
    with conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT NOT EXISTS (SELECT 1 FROM {})").format(target))
        (empty,) = cur.fetchone()
    if commit:
        conn.commit()
    return empty


def _insert_latest(target, staging, columns: Sequence[str], key: Sequence[str], part: str) -> sql.Composable:
    """Each key's row of the latest partition, from every staged chunk, in key order."""
    cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    keys = sql.SQL(", ").join(sql.Identifier(k) for k in key)
    return sql.SQL(
        "INSERT INTO {target} ({cols}) SELECT DISTINCT ON ({keys}) {cols} FROM {staging} ORDER BY {keys}, {part} DESC"
    ).format(target=target, cols=cols, keys=keys, staging=staging, part=sql.Identifier(part))


def _merge(target, staging, columns: Sequence[str], key: Sequence[str], part: str) -> sql.Composable:
    values = [c for c in columns if c not in key]

    def listed(prefix: str, names: Sequence[str]) -> sql.Composable:
        return sql.SQL(", ").join(sql.SQL(prefix + "{}").format(sql.Identifier(c)) for c in names)

    return sql.SQL(
        "MERGE INTO {target} t USING {staging} s ON {on} "
        "WHEN MATCHED AND t.{part} <= s.{part} AND ({t_values}) IS DISTINCT FROM ({s_values}) "
        "THEN UPDATE SET {updates} "
        "WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({s_cols})"
    ).format(
        target=target,
        staging=staging,
        on=sql.SQL(" AND ").join(sql.SQL("t.{k} = s.{k}").format(k=sql.Identifier(k)) for k in key),
        part=sql.Identifier(part),
        t_values=listed("t.", values),
        s_values=listed("s.", values),
        updates=sql.SQL(", ").join(sql.SQL("{c} = s.{c}").format(c=sql.Identifier(c)) for c in values),
        cols=listed("", columns),
        s_cols=listed("s.", columns),
    )
