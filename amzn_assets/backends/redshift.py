"""The star tables in Amazon Redshift, loaded by COPY from an S3 staging prefix."""

from __future__ import annotations

from amzn_assets.backends.base import Backend


class RedshiftBackend(Backend):
    name = "redshift"
    kind = "redshift"

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        return {"dagster/table_name": f"{self.settings.redshift.schema}.{table}"}

    def warehouse_io_manager(self):
        from amzn_assets.storage.redshift import redshift_io_manager

        return redshift_io_manager(self.settings)

    def query(self, sql: str):
        from amzn_assets.warehouse.query import run_postgres_query

        r = self.settings.redshift
        # Redshift speaks PostgreSQL's protocol; it has temporary tables but no temporary views.
        url = f"postgresql://{r.user}:{r.password}@{r.host}:{r.port}/{r.database}"
        return run_postgres_query(url, r.schema, sql, shadow="TABLE")

    def location(self) -> str:
        r = self.settings.redshift
        return f"{r.host or '?'} schema {r.schema}"


BACKEND = RedshiftBackend
