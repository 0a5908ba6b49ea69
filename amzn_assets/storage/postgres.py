"""The PostgreSQL IO manager: star tables in a schema, written with COPY in one transaction each."""

from __future__ import annotations

from dagster import ConfigurableIOManager, InputContext, OutputContext
from pydantic import PrivateAttr

from amzn_assets.chunks import TableChunks, chunks_of, summary_of
from amzn_assets.storage import pg_tables
from amzn_assets.storage.contract import StorageSpec
from amzn_assets.tables import TABLES_BY_NAME


class PostgresIOManager(ConfigurableIOManager):
    """Facts: the run's partition range is deleted and re-loaded. Dimensions: upserted by key.

    Loading a dimension partition returns the keys whose latest partition is in the range (the
    table keeps one row per key); facts load exactly their partitions.
    """

    url: str  # libpq URL, e.g. postgresql://user:pw@host:5432/db
    db_schema: str = "public"
    _ready: bool = PrivateAttr(default=False)

    def _connect(self):
        conn = pg_tables.connect(self.url)
        if not self._ready:
            pg_tables.ensure_schema(conn, self.db_schema)
            self._ready = True
        return conn

    def handle_output(self, context: OutputContext, obj) -> None:
        spec = StorageSpec.of(context)
        name = context.asset_key.path[-1]
        keys = context.asset_partition_keys
        first, last = min(keys), max(keys)
        conn = self._connect()
        try:
            if spec.write_mode == "replace":
                rows = pg_tables.replace_range(
                    conn, self.db_schema, name, spec.partition_column, first, last, chunks_of(obj),
                    references=TABLES_BY_NAME[name].references if name in TABLES_BY_NAME else (),
                    order_by=spec.primary_key,
                )
            else:
                rows = pg_tables.upsert(
                    conn, self.db_schema, name, spec.primary_key, spec.partition_column, chunks_of(obj)
                )
        finally:
            conn.close()
        context.add_output_metadata(
            {"dagster/row_count": rows, "table": f"{self.db_schema}.{name}", "partitions_written": len(keys)}
            | summary_of(obj)
        )

    def load_input(self, context: InputContext) -> TableChunks:
        spec = StorageSpec.of_input(context)
        name = context.asset_key.path[-1]
        schema = TABLES_BY_NAME[name].schema

        def read(keys: list[str]):
            conn = self._connect()
            try:
                return pg_tables.read_range(conn, self.db_schema, name, schema, spec.partition_column, keys[0], keys[-1])
            finally:
                conn.close()

        return TableChunks.by_days(context.asset_partition_keys, schema, read)
