"""The PostgreSQL IO manager: star tables in a schema, written with COPY in one transaction each."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from dagster import ConfigurableIOManager, InputContext, OutputContext

from amzn_assets.chunks import TableChunks, chunks_of
from amzn_assets.backends.postgres import database as pg_database
from amzn_assets.backends.postgres import reads as pg_reads
from amzn_assets.backends.postgres import writes as pg_writes
from amzn_assets.storage.contract import StorageSpec, projected, whole_table
from amzn_assets.storage.metadata import record_partition_metadata
from amzn_assets.tables import TABLES_BY_NAME


class PostgresIOManager(ConfigurableIOManager):
    """Facts: the partitions written are deleted and re-loaded. Dimensions: upserted by key.

    Loading a dimension partition returns the keys whose latest partition is in the range (the
    table keeps one row per key); facts load exactly their partitions.
    """

    url: str  # libpq URL, e.g. postgresql://user:pw@host:5432/db
    db_schema: str = "public"
    sql_dir: str = ""  # AMZN_SQL_DIR; default: the repository's sql/

    def _connect(self):
        conn = pg_database.connect(self.url)
        pg_database.ensure_schema_once(conn, self.db_schema, self.sql_dir)
        return conn

    @contextmanager
    def _connection(self) -> Iterator:
        """The process's pooled connection, the schema checked once per process."""
        with pg_database.pooled(self.url) as conn:
            pg_database.ensure_schema_once(conn, self.db_schema, self.sql_dir)
            yield conn

    def write_partitions(self, name: str, spec: StorageSpec, keys: Sequence[str], obj) -> dict[str, int]:
        with self._connection() as conn:
            if spec.write_mode == "replace":
                return pg_writes.replace_partitions(
                    conn, self.db_schema, name, spec.partition_column, keys, chunks_of(obj),
                    references=TABLES_BY_NAME[name].references if name in TABLES_BY_NAME else (),
                    order_by=spec.primary_key,
                )
            rows = pg_writes.upsert(conn, self.db_schema, name, spec.primary_key, spec.partition_column, chunks_of(obj))
            return {key: rows.get(key, 0) for key in keys}

    def read_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], columns: Sequence[str] | None = None
    ) -> TableChunks:
        schema = projected(TABLES_BY_NAME[name].schema, columns)

        def read(chunk_keys: list[str]):
            with self._connection() as conn:
                return pg_reads.read_partitions(conn, self.db_schema, name, schema, spec.partition_column, chunk_keys)

        return TableChunks.by_days(keys, schema, read)

    def write_whole(self, name: str, spec: StorageSpec, table) -> int:
        with self._connection() as conn:
            return pg_writes.replace_table(conn, self.db_schema, name, spec.primary_key, whole_table(name, table))

    def existing_keys(self, name: str, spec: StorageSpec, column: str, values, near: Sequence[str] = ()):
        with self._connection() as conn:
            return pg_reads.existing_values(conn, self.db_schema, name, column, values)

    def handle_output(self, context: OutputContext, obj) -> None:
        name = context.asset_key.path[-1]
        if not context.has_asset_partitions:
            rows = self.write_whole(name, StorageSpec.of(context), obj)
            context.add_output_metadata({"table": f"{self.db_schema}.{name}", "dagster/row_count": rows})
            return
        rows = self.write_partitions(name, StorageSpec.of(context), context.asset_partition_keys, obj)
        record_partition_metadata(context, rows, obj, {"table": f"{self.db_schema}.{name}"})

    def load_input(self, context: InputContext) -> TableChunks:
        return self.read_partitions(
            context.asset_key.path[-1], StorageSpec.of_input(context), context.asset_partition_keys,
            context.definition_metadata.get("columns"),
        )
