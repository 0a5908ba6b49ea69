"""Parquet files under <data dir>/warehouse, queried with DuckDB."""

from __future__ import annotations

from amzn_assets.backends.base import Backend


class LocalBackend(Backend):
    name = "local"

    def warehouse_io_manager(self):
        from amzn_assets.storage.parquet import ParquetIOManager

        return ParquetIOManager(base_path=str(self.settings.dirs.warehouse))

    def query(self, sql: str):
        from amzn_assets.warehouse.query import run_query

        return run_query(self.settings.dirs.warehouse, sql)

    def location(self) -> str:
        return str(self.settings.dirs.warehouse)


BACKEND = LocalBackend
