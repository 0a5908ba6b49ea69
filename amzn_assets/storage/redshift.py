"""The Redshift IO manager: partitions staged as parquet on S3, loaded with COPY ... FORMAT AS PARQUET.

handle_output
  1. writes the output (a pyarrow.Table or TableChunks) as snappy parquet objects
     <staging_prefix>/<table>/<uuid>/part-00000.parquet, part-00001.parquet, ... (one per chunk, at
     most `rows_per_object` rows each) through the S3Resource's boto3 client (put_object);
  2. sends, through dagster-aws's RedshiftClientResource, one transaction (amzn_assets.storage.redshift_sql):
     facts (write_mode replace):   BEGIN; DELETE the partition range; COPY the staged prefix; COMMIT
     dimensions (write_mode upsert): BEGIN; COPY into a temp staging table; dedupe by key (latest
       partition); drop the rows a newer partition already holds; MERGE; drop temp tables; COMMIT
  3. deletes the staged objects (unless keep_staged); after a failure they are kept for inspection.
The first write creates the schema and the tables of sql/redshift/schema.sql (IF NOT EXISTS).

load_input SELECTs the partition range through the same client and builds Arrow tables in the
table's schema, a month of partitions at a time. Rows travel through the leader node as Python
tuples: fine for the modest ranges the downstream assets read; big extracts should UNLOAD to S3.

What has not been run against a live Redshift cluster: see docs/redshift.md.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster import ConfigurableIOManager, InputContext, OutputContext
from dagster_aws.redshift import RedshiftClientResource
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from amzn_assets.chunks import TableChunks, chunks_of
from amzn_assets.storage import redshift_sql
from amzn_assets.day_stats import count_by_key
from amzn_assets.storage.contract import StorageSpec, projected, whole_table
from amzn_assets.storage.metadata import record_partition_metadata
from amzn_assets.tables import TABLES_BY_NAME

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


class RedshiftIOManager(ConfigurableIOManager):
    """Facts: the run's partition range is deleted and re-COPied. Dimensions: merged by key.

    Loading a dimension partition returns the keys whose latest partition is in the range (the
    table keeps one row per key); facts load exactly their partitions.
    """

    redshift: RedshiftClientResource
    s3: S3Resource
    staging_prefix: str  # s3://bucket/prefix where partitions are staged for COPY
    # The role COPY assumes to read the staged objects. A comma-separated list (the roles that
    # `amzn-assets redshift cluster create` attaches, same variable) uses its first ARN.
    iam_role_arn: str
    sql_dir: str = ""  # AMZN_SQL_DIR; default: the repository's sql/
    db_schema: str = "public"
    keep_staged: bool = False  # keep the staged parquet after a successful COPY
    rows_per_object: int = ROWS_PER_OBJECT
    _ready: bool = PrivateAttr(default=False)
    _staged_objects: int = PrivateAttr(default=0)

    # -- the seams: every statement goes through run_sql, every query through fetch_sql ----------

    def run_sql(self, statements: list[str]) -> None:
        """Send statements on one connection, through dagster-aws's RedshiftClient.execute_queries."""
        client = self.redshift.get_client()
        # Our statement lists carry their own BEGIN ... COMMIT. With autocommit off (the resource's
        # default), psycopg2 would already have opened a transaction and our BEGIN would only draw a
        # "transaction already in progress" warning; with it on, BEGIN/COMMIT are the transaction.
        # If a statement fails the client re-raises and closes the connection: the open transaction
        # is rolled back by the server.
        client.autocommit = True
        client.execute_queries(statements)

    def fetch_sql(self, query: str) -> list[tuple]:
        # execute_query returns None, not [], when there are no rows.
        return self.redshift.get_client().execute_query(query, fetch_results=True) or []

    def schema_statements(self) -> list[redshift_sql.Statement]:
        return redshift_sql.ensure_schema(self.db_schema, redshift_sql.redshift_ddl(self.sql_dir) if self.sql_dir else None)

    # -----------------------------------------------------------------------------------------------

    @property
    def copy_role(self) -> str:
        return self.iam_role_arn.split(",")[0].strip()

    def _execute(self, statements: list[redshift_sql.Statement]) -> None:
        self.run_sql([redshift_sql.render(s) for s in statements])

    def _ensure_schema(self) -> None:
        if not self._ready:
            self._execute(self.schema_statements())
            self._ready = True

    def write_partitions(self, name: str, spec: StorageSpec, keys: Sequence[str], obj: pa.Table | TableChunks) -> dict[str, int]:
        schema = TABLES_BY_NAME[name].schema if name in TABLES_BY_NAME else obj.schema
        redshift_sql.iam_role_literal(self.copy_role)  # fail before uploading anything
        self._ensure_schema()

        s3_client = self.s3.get_client()
        widths = redshift_sql.varchar_widths().get(name, {})
        counts: dict[str, int] = {}
        staged_url, staged_keys, _ = stage_parquet(
            s3_client, self.staging_prefix, name, _counted(chunks_of(obj), spec.partition_column, counts),
            schema, widths, self.rows_per_object,
        )
        copy_from = staged_url if staged_keys else None
        if spec.write_mode == "replace":
            statements = redshift_sql.replace_partitions(
                self.db_schema, name, schema.names, spec.partition_column, copy_from, self.copy_role, keys
            )
        elif copy_from is not None:
            statements = redshift_sql.upsert(
                self.db_schema, name, schema.names, spec.primary_key, spec.partition_column, copy_from, self.copy_role
            )
        else:
            statements = []  # an upsert of nothing
        if statements:
            self._execute(statements)
        if staged_keys and not self.keep_staged:
            delete_staged(s3_client, staged_url, staged_keys)
        self._staged_objects = len(staged_keys)
        return {key: counts.get(key, 0) for key in keys}

    def write_whole(self, name: str, spec: StorageSpec, table: pa.Table) -> int:
        schema = TABLES_BY_NAME[name].schema
        redshift_sql.iam_role_literal(self.copy_role)  # fail before uploading anything
        self._ensure_schema()
        table = whole_table(name, table).sort_by([(k, "ascending") for k in spec.primary_key])
        s3_client = self.s3.get_client()
        widths = redshift_sql.varchar_widths().get(name, {})
        staged_url, staged_keys, rows = stage_parquet(
            s3_client, self.staging_prefix, name, [table] if table.num_rows else [], schema, widths, self.rows_per_object
        )
        copy_from = staged_url if staged_keys else None
        self._execute(redshift_sql.replace_whole(self.db_schema, name, schema.names, copy_from, self.copy_role))
        if staged_keys and not self.keep_staged:
            delete_staged(s3_client, staged_url, staged_keys)
        self._staged_objects = len(staged_keys)
        return rows

    def read_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], columns: Sequence[str] | None = None
    ) -> TableChunks:
        schema = projected(TABLES_BY_NAME[name].schema, columns)

        def read(chunk_keys: list[str]) -> pa.Table:
            query = redshift_sql.select_partitions(self.db_schema, name, schema.names, spec.partition_column, chunk_keys)
            return rows_to_arrow(self.fetch_sql(redshift_sql.render(query)), schema)

        return TableChunks.by_days(keys, schema, read)

    def existing_keys(
        self, name: str, spec: StorageSpec, column: str, values: pa.Array, near: Sequence[str] = (), batch: int = 1_000
    ) -> pa.Array:
        wanted = pc.unique(values.drop_null()).to_pylist()
        found: list = []
        for start in range(0, len(wanted), batch):
            query = redshift_sql.select_existing(self.db_schema, name, column, wanted[start : start + batch])
            found += [row[0] for row in self.fetch_sql(redshift_sql.render(query))]
        return pa.array(found, values.type)

    def handle_output(self, context: OutputContext, obj: pa.Table | TableChunks) -> None:
        name = context.asset_key.path[-1]
        if not context.has_asset_partitions:
            rows = self.write_whole(name, StorageSpec.of(context), obj)
            context.add_output_metadata({"table": f"{self.db_schema}.{name}", "dagster/row_count": rows})
            context.log.info(f"{name}: {self._staged_objects} objects staged for COPY")
            return
        rows = self.write_partitions(name, StorageSpec.of(context), context.asset_partition_keys, obj)
        record_partition_metadata(context, rows, obj, {"table": f"{self.db_schema}.{name}"})
        context.log.info(f"{name}: {self._staged_objects} objects staged for COPY")

    def load_input(self, context: InputContext) -> TableChunks:
        return self.read_partitions(
            context.asset_key.path[-1], StorageSpec.of_input(context), context.asset_partition_keys,
            context.definition_metadata.get("columns"),
        )


def _counted(chunks, column: str, counts: dict[str, int]):
    for chunk in chunks:
        count_by_key(chunk, column, counts)
        yield chunk
