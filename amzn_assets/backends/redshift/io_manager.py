"""The Redshift IO manager: partitions staged as parquet on S3, loaded with COPY ... FORMAT AS PARQUET.

handle_output
  1. writes the output (a pyarrow.Table or TableChunks) as snappy parquet objects
     <staging_prefix>/<table>/<uuid>/part-00000.parquet, part-00001.parquet, ... (one per chunk, at
     most `rows_per_object` rows each) through the S3Resource's boto3 client (put_object);
  2. sends, through dagster-aws's RedshiftClientResource, one transaction (amzn_assets.backends.redshift.sql):
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

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
from dagster import ConfigurableIOManager, InputContext, OutputContext
from dagster_aws.redshift import RedshiftClientResource
from dagster_aws.s3 import S3Resource
from pydantic import PrivateAttr

from amzn_assets.chunks import TableChunks, chunks_of
from amzn_assets.day_stats import count_by_key
from amzn_assets.backends.redshift import ddl as redshift_ddl
from amzn_assets.backends.redshift import sql as redshift_sql
from amzn_assets.storage.contract import StorageSpec, projected, whole_table
from amzn_assets.storage.metadata import record_partition_metadata
from amzn_assets.backends.redshift.staging import ROWS_PER_OBJECT, delete_staged, rows_to_arrow, stage_parquet
from amzn_assets.tables import TABLES_BY_NAME

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
        return redshift_ddl.ensure_schema(self.db_schema, redshift_ddl.redshift_ddl(self.sql_dir) if self.sql_dir else None)

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
        widths = redshift_ddl.varchar_widths().get(name, {})
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
        widths = redshift_ddl.varchar_widths().get(name, {})
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
