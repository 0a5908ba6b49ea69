"""The star tables in a PostgreSQL schema; the landing ledger lives there too unless AMZN_LEDGER_URL says otherwise."""

from __future__ import annotations

from amzn_assets.backends.base import Backend, secret
from amzn_assets.backends.postgres.io_manager import PostgresIOManager
from amzn_assets.backends.postgres.query import run_postgres_query


class PostgresBackend(Backend):
    name = "postgres"
    kind = "postgres"

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        return {"dagster/table_name": f"{self.settings.postgres_schema}.{table}"}

    def warehouse_io_manager(self):
        s = self.settings
        return PostgresIOManager(url=secret(s, "AMZN_POSTGRES_URL", s.postgres_url), db_schema=s.postgres_schema, sql_dir=s.sql_dir_override)

    def query(self, sql: str):
        if not self.settings.postgres_url:
            raise ValueError("AMZN_BACKEND=postgres needs AMZN_POSTGRES_URL")
        return run_postgres_query(self.settings.postgres_url, self.settings.postgres_schema, sql)

    def location(self) -> str:
        return f"schema {self.settings.postgres_schema}"

    def default_ledger_url(self) -> str:
        return self.settings.postgres_url or super().default_ledger_url()


BACKEND = PostgresBackend
