"""The SQL the Redshift IO manager sends, as plain data (no Dagster, no connection).

Every function returns a list of `Statement`s: SQL text with `%s` placeholders and their values
apart. What can't be a parameter is checked before it is written into the text:

* identifiers (schema, table, column names) must match `_IDENTIFIER` and are always double-quoted;
* the staged S3 URL and the IAM role ARN, which COPY only takes as string literals, must match
  `_S3_URL` / `_IAM_ROLE_ARN`; they are then written as '...' literals with any single quote doubled.

Redshift specifics this SQL relies on (from the Redshift Database Developer Guide):

* COPY ... FORMAT AS PARQUET maps the file's columns to the table's columns *by position*, and the
  number of columns must match; COPY from columnar files takes no column list options such as
  TRUNCATECOLUMNS, so the IO manager writes the parquet in the table's column order and truncates
  VARCHAR values itself (see `varchar_widths`).
* Redshift's MERGE takes a table (temporary or permanent) as its source, never a subquery, view or
  CTE; it has no `WHEN MATCHED AND <condition>` and no target alias; the source must hold at most one
  row per target row. So the upsert (1) COPYs into a temp staging table, (2) keeps one row per key,
  the latest partition, in a second temp table, (3) deletes from that table the rows whose target row
  comes from a newer partition -- that DELETE is what stands in for the conditional
  `WHEN MATCHED AND target.partition <= source.partition` -- and (4) runs an unconditional MERGE.
* TRUNCATE commits implicitly in Redshift, so a fact range is emptied with DELETE, inside the
  transaction that COPYs its replacement.

PostgreSQL 16 accepts the same DELETE / CREATE TEMP TABLE (LIKE ...) / ROW_NUMBER / DELETE ... USING /
MERGE text, which is how the tests run everything here except COPY ... FROM 's3://...' and the DDL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import NamedTuple

from amzn_assets.storage.contract import is_contiguous

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,126}$")
# s3://bucket/key: bucket names per S3's rules (lower case, digits, dots, hyphens; 3 to 63 chars);
# the key limited to S3's "safe" characters (letters, digits, ! - _ . * ' ( ) /) -- no backslash, no %,
# no spaces, no double quotes.
_S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*'()/-]*)?$")
# arn:<partition>:iam::<12-digit account>:role/<path/name>, the characters IAM allows in role names.
_IAM_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Statement(NamedTuple):
    """One SQL statement; `params` fill its `%s` placeholders, in order."""

    sql: str
    params: tuple = ()


# --------------------------------------------------------------------------------------------------
# Validation and quoting
# --------------------------------------------------------------------------------------------------


def ident(name: str) -> str:
    """A double-quoted identifier; names outside [A-Za-z_][A-Za-z0-9_]* are refused, never escaped."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError(f"not an identifier this IO manager accepts: {name!r}")
    return f'"{name}"'


def qualified(schema: str, table: str) -> str:
    return f"{ident(schema)}.{ident(table)}"


def _string_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def s3_literal(url: str) -> str:
    """The staged S3 URL (an object or a key prefix) as a SQL string literal."""
    if not isinstance(url, str) or not _S3_URL.match(url):
        raise ValueError(f"not an S3 URL COPY may read from (s3://bucket/key, safe characters only): {url!r}")
    return _string_literal(url)


def iam_role_literal(arn: str) -> str:
    """An IAM role ARN as a SQL string literal."""
    if not isinstance(arn, str) or not _IAM_ROLE_ARN.match(arn):
        raise ValueError(f"not an IAM role ARN (arn:aws:iam::<account>:role/<name>): {arn!r}")
    return _string_literal(arn)


def literal(value) -> str:
    """A parameter value as a SQL literal, for clients that take no parameters (RedshiftClient).

    Only what this IO manager binds is accepted: dates (or ISO date strings), integers, and plain
    strings without backslashes or NULs (Redshift reads a backslash in a literal as an escape).
    """
    if isinstance(value, bool) or value is None:
        raise TypeError(f"no literal for {value!r}")
    if isinstance(value, dt.datetime):
        raise TypeError("datetimes are not bound by this IO manager; pass dates")
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "\\" in value or "\x00" in value:
            raise ValueError(f"refusing to inline a string with a backslash or NUL: {value!r}")
        return _string_literal(value)
    raise TypeError(f"no literal for {type(value).__name__}")


def render(statement: Statement) -> str:
    """The statement with its parameters inlined as literals (as psycopg2 does: none, text unchanged)."""
    if not statement.params:
        return statement.sql
    parts = statement.sql.split("%s")
    if len(parts) - 1 != len(statement.params):
        raise ValueError(f"{len(parts) - 1} placeholders, {len(statement.params)} parameters: {statement.sql}")
    out = [parts[0]]
    for value, part in zip(statement.params, parts[1:]):
        out += [literal(value), part]
    return "".join(out)


def _partition_value(value) -> str | dt.date:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError(f"partition keys are ISO dates (YYYY-MM-DD): {value!r}")
    return value


# --------------------------------------------------------------------------------------------------
# DDL
# --------------------------------------------------------------------------------------------------


def copy_parquet(target: str, staged_s3_url: str, iam_role: str) -> Statement:
    """COPY every object under the staged prefix; columns by position (the parquet is in table order)."""
    return Statement(
        f"COPY {target} FROM {s3_literal(staged_s3_url)} IAM_ROLE {iam_role_literal(iam_role)} FORMAT AS PARQUET"
    )


def replace_range(
    schema: str,
    table: str,
    columns: Sequence[str],
    partition_column: str,
    staged_s3_url: str | None,
    iam_role: str,
    first,
    last,
    keys: Sequence[str] = (),
) -> list[Statement]:
    """Replace the partitions [first, last] (or exactly `keys`) whole: DELETE them and COPY the staged
    rows, one transaction.

    staged_s3_url None: the range has no rows, only the DELETE runs. `columns` is checked (the
    parquet must hold exactly them, in the table's order) but COPY from parquet takes no column list.
    """
    target = qualified(schema, table)
    for column in columns:
        ident(column)
    where, params = _partitions_predicate(partition_column, keys) if keys else _range_predicate(partition_column, first, last)
    statements = [Statement("BEGIN"), Statement(f"DELETE FROM {target} WHERE {where}", params)]
    if staged_s3_url is not None:
        statements.append(copy_parquet(target, staged_s3_url, iam_role))
    return statements + [Statement("COMMIT")]


def replace_whole(schema: str, table: str, columns: Sequence[str], staged_s3_url: str | None, iam_role: str) -> list[Statement]:
    """Replace an unpartitioned table's rows (reference data): DELETE them all and COPY the staged
    rows, one transaction (staged_s3_url None: no rows, only the DELETE)."""
    target = qualified(schema, table)
    for column in columns:
        ident(column)
    statements = [Statement("BEGIN"), Statement(f"DELETE FROM {target}")]
    if staged_s3_url is not None:
        statements.append(copy_parquet(target, staged_s3_url, iam_role))
    return statements + [Statement("COMMIT")]


def _range_predicate(partition_column: str, first, last) -> tuple[str, tuple]:
    return f"{ident(partition_column)} BETWEEN %s AND %s", (_partition_value(first), _partition_value(last))


def _partitions_predicate(partition_column: str, keys: Sequence[str]) -> tuple[str, tuple]:
    """`col BETWEEN %s AND %s` for a contiguous set of days, else `col IN (%s, ...)`."""
    days = sorted(set(keys))
    if is_contiguous(days):
        return _range_predicate(partition_column, days[0], days[-1])
    return f"{ident(partition_column)} IN ({', '.join(['%s'] * len(days))})", tuple(_partition_value(d) for d in days)


def replace_partitions(
    schema: str,
    table: str,
    columns: Sequence[str],
    partition_column: str,
    staged_s3_url: str | None,
    iam_role: str,
    keys: Sequence[str],
) -> list[Statement]:
    """replace_range for any set of days: a contiguous set is a range, scattered days an IN list."""
    days = sorted(set(keys))
    return replace_range(schema, table, columns, partition_column, staged_s3_url, iam_role, days[0], days[-1], keys=days)


def upsert(
    schema: str,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    partition_column: str,
    staged_s3_url: str,
    iam_role: str,
) -> list[Statement]:
    """Upsert the staged rows by key, the latest partition winning (also against older re-runs).

    Statements, in one transaction:
      1. CREATE TEMP TABLE _stage_<t> (LIKE target)   -- LIKE carries DISTKEY/SORTKEY in Redshift
      2. COPY _stage_<t> FROM 's3://...' IAM_ROLE '...' FORMAT AS PARQUET
      3. CREATE TEMP TABLE _merge_<t> (LIKE target); INSERT one row per key, its latest partition
         (ROW_NUMBER: Redshift MERGE fails when a target row matches several source rows)
      4. DELETE FROM _merge_<t> USING target WHERE same key AND target.partition > source.partition:
         the documented way around Redshift MERGE having no `WHEN MATCHED AND ...`
      5. MERGE INTO target USING _merge_<t> ... WHEN MATCHED THEN UPDATE ... WHEN NOT MATCHED THEN INSERT
      6. DROP both temp tables
    """
    if not key:
        raise ValueError("an upsert needs a key")
    target = qualified(schema, table)
    bare = ident(table)  # Redshift's MERGE has no target alias: the target is referred to by its name
    stage, source = ident(f"_stage_{table}"), ident(f"_merge_{table}")
    cols = [ident(c) for c in columns]
    keys = [ident(k) for k in key]
    part = ident(partition_column)
    if not set(keys) <= set(cols) or part not in cols:
        raise ValueError(f"key {list(key)} and partition column {partition_column!r} must be columns of {table}")
    col_list = ", ".join(cols)
    updates = [c for c in cols if c not in keys] or keys[:1]  # (a key-only table: a no-op update)

    def match(left: str, right: str) -> str:
        return " AND ".join(f"{left}.{k} = {right}.{k}" for k in keys)

    return [
        Statement("BEGIN"),
        Statement(f"CREATE TEMP TABLE {stage} (LIKE {target})"),
        copy_parquet(stage, staged_s3_url, iam_role),
        Statement(f"CREATE TEMP TABLE {source} (LIKE {target})"),
        Statement(
            f"INSERT INTO {source} ({col_list}) SELECT {col_list} FROM "
            f"(SELECT {col_list}, ROW_NUMBER() OVER (PARTITION BY {', '.join(keys)} ORDER BY {part} DESC) AS \"_rn\" "
            f"FROM {stage}) AS \"_ranked\" WHERE \"_rn\" = 1"
        ),
        Statement(f"DELETE FROM {source} USING {target} WHERE {match(source, bare)} AND {bare}.{part} > {source}.{part}"),
        Statement(
            f"MERGE INTO {target} USING {source} ON {match(bare, source)} "
            f"WHEN MATCHED THEN UPDATE SET {', '.join(f'{c} = {source}.{c}' for c in updates)} "
            f"WHEN NOT MATCHED THEN INSERT ({col_list}) VALUES ({', '.join(f'{source}.{c}' for c in cols)})"
        ),
        Statement(f"DROP TABLE {source}"),
        Statement(f"DROP TABLE {stage}"),
        Statement("COMMIT"),
    ]


def select_range(schema: str, table: str, columns: Sequence[str], partition_column: str, first, last) -> Statement:
    """The rows of the partitions [first, last] (load_input; UNLOAD would be the way for big ranges)."""
    where, params = _range_predicate(partition_column, first, last)
    return Statement(f"SELECT {', '.join(ident(c) for c in columns)} FROM {qualified(schema, table)} WHERE {where}", params)


def select_partitions(schema: str, table: str, columns: Sequence[str], partition_column: str, keys: Sequence[str]) -> Statement:
    where, params = _partitions_predicate(partition_column, keys)
    return Statement(f"SELECT {', '.join(ident(c) for c in columns)} FROM {qualified(schema, table)} WHERE {where}", params)


def select_existing(schema: str, table: str, column: str, values: Sequence) -> Statement:
    """The distinct values among `values` found in table.column (a dimension key lookup)."""
    return Statement(
        f"SELECT DISTINCT {ident(column)} FROM {qualified(schema, table)} WHERE {ident(column)} IN ({', '.join(['%s'] * len(values))})",
        tuple(values),
    )
