"""Parquet files under <data dir>/warehouse, queried with DuckDB."""

from __future__ import annotations

from amzn_assets.backends.base import Backend
from amzn_assets.backends.local.io_manager import ParquetIOManager
from amzn_assets.backends.local.query import run_query


class LocalBackend(Backend):
    name = "local"
    kind = "parquet"

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        return {"dagster/uri": parquet_uri(self.settings.dirs.warehouse.as_uri(), table, partitioned)}

    def warehouse_io_manager(self):
        return ParquetIOManager(base_path=str(self.settings.dirs.warehouse))

    def query(self, sql: str):
        return run_query(self.settings.dirs.warehouse, sql)

    def location(self) -> str:
        return str(self.settings.dirs.warehouse)


def parquet_uri(warehouse: str, table: str, partitioned: bool) -> str:
    """A parquet table's URI: its folder of month files, or its one file (backends/local/io_manager.py)."""
    return f"{warehouse}/{table}/" if partitioned else f"{warehouse}/{table}.parquet"


BACKEND = LocalBackend
