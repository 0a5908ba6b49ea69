"""Partitions staged on S3 for Redshift's COPY (no Dagster): Arrow columns cast to what COPY ...
FORMAT AS PARQUET maps by position, VARCHAR values cut to their column's width, parquet objects put
under a unique prefix and deleted after the load; and query rows back as Arrow."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amzn_assets.backends.redshift import sql as redshift_sql


ROWS_PER_OBJECT = 1_000_000


# --------------------------------------------------------------------------------------------------
# Parquet for COPY
# --------------------------------------------------------------------------------------------------


def _copy_type(field: pa.Field) -> pa.DataType:
    """The Arrow type a column is written as, for Redshift's parquet COPY.

    * int8 -> int16: our int8 columns (rating, month, day, ...) are SMALLINT in Redshift. Parquet has
      no 8-bit physical type; an int8 column is INT32 annotated INT(8). Redshift documents SMALLINT
      loads from INT32/INT(16); whether it also takes INT(8) is not documented, so we do not rely on it.
    * timestamp[s, UTC] -> timestamp[us, UTC]: Parquet has no seconds unit (pyarrow would pick
      milliseconds); microseconds (TIMESTAMP_MICROS, adjusted to UTC) is the unit Redshift/Spectrum
      read for TIMESTAMP / TIMESTAMPTZ.
    """
    if pa.types.is_int8(field.type):
        return pa.int16()
    if pa.types.is_timestamp(field.type):
        return pa.timestamp("us", tz="UTC")
    return field.type


def _truncate_utf8(array: pa.ChunkedArray | pa.Array, max_bytes: int) -> pa.Array | pa.ChunkedArray:
    """Strings cut to at most max_bytes UTF-8 bytes, on a character boundary.

    Redshift VARCHAR(n) counts bytes, and COPY from parquet does not take TRUNCATECOLUMNS: an
    over-long value would fail the whole load. Only the (rare) long values go through Python.
    """
    lengths = pc.binary_length(array)
    if not pc.any(pc.greater(lengths, max_bytes)).as_py():
        return array
    values = array.to_pylist()
    for i, value in enumerate(values):
        if value is not None and len(value.encode()) > max_bytes:
            values[i] = value.encode()[:max_bytes].decode("utf-8", errors="ignore")
    return pa.array(values, type=array.type)


def prepare_for_copy(table: pa.Table, schema: pa.Schema, varchar_widths: dict[str, int] | None = None) -> pa.Table:
    """The table's columns in the DDL's order (COPY maps parquet columns by position), cast for COPY."""
    missing = set(schema.names) - set(table.column_names)
    if missing:
        raise ValueError(f"output lacks columns {sorted(missing)}")
    table = table.select(schema.names)
    target = pa.schema([pa.field(f.name, _copy_type(f), f.nullable) for f in schema])
    table = table.cast(target)
    for name, width in (varchar_widths or {}).items():
        if name in target.names and pa.types.is_string(target.field(name).type):
            index = target.get_field_index(name)
            table = table.set_column(index, target.field(name), _truncate_utf8(table[name], width))
    return table


def split_s3_url(url: str) -> tuple[str, str]:
    """s3://bucket/some/prefix -> ("bucket", "some/prefix")."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    return bucket, key.strip("/")


def stage_parquet(
    s3_client,
    staging_prefix: str,
    table_name: str,
    chunks: Iterable[pa.Table],
    schema: pa.Schema,
    varchar_widths: dict[str, int] | None = None,
    rows_per_object: int = ROWS_PER_OBJECT,
) -> tuple[str, list[str], int]:
    """Write the chunks as parquet objects under <staging_prefix>/<table>/<uuid>/.

    Returns (the s3:// URL of that prefix, with a trailing slash so COPY reads exactly these
    objects, the object keys, the row count). No rows: nothing is written, the keys are empty.
    """
    redshift_sql.s3_literal(staging_prefix)  # refuse a prefix COPY could not take before uploading
    bucket, prefix = split_s3_url(staging_prefix)
    folder = "/".join(p for p in (prefix, redshift_sql.ident(table_name).strip('"'), uuid.uuid4().hex) if p) + "/"
    keys: list[str] = []
    rows = 0
    for chunk in chunks:
        prepared = prepare_for_copy(chunk, schema, varchar_widths)
        for start in range(0, prepared.num_rows, rows_per_object):
            part = prepared.slice(start, rows_per_object)
            buffer = io.BytesIO()
            # Snappy: a parquet codec Redshift COPY reads (the objects are named .parquet, not
            # .snappy, which COPY would take for a whole-file compression suffix).
            pq.write_table(part, buffer, compression="snappy", coerce_timestamps="us", use_deprecated_int96_timestamps=False)
            key = f"{folder}part-{len(keys):05d}.parquet"
            s3_client.put_object(Bucket=bucket, Key=key, Body=buffer.getvalue())
            keys.append(key)
            rows += part.num_rows
    return f"s3://{bucket}/{folder}", keys, rows


def delete_staged(s3_client, staged_url: str, keys: Sequence[str]) -> None:
    bucket, _ = split_s3_url(staged_url)
    for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1000 keys
        s3_client.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
        )


def rows_to_arrow(rows: Sequence[tuple] | None, schema: pa.Schema) -> pa.Table:
    """Result tuples (psycopg2 types: date, aware datetime, int, float, str, bool) in the Arrow schema."""
    rows = rows or []
    columns = list(zip(*rows)) if rows else [()] * len(schema)
    return pa.Table.from_arrays(
        [pa.array(list(values), type=field.type) for values, field in zip(columns, schema)], schema=schema
    )


# --------------------------------------------------------------------------------------------------
# The IO manager
# --------------------------------------------------------------------------------------------------
