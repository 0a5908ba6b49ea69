"""The star tables in Amazon Redshift, loaded by COPY from an S3 staging prefix."""

from __future__ import annotations

from dagster_aws.redshift import RedshiftClientResource
from dagster_aws.s3 import S3Resource
from sqlalchemy.engine import URL

from amzn_assets.backends.base import Backend, secret
from amzn_assets.backends.postgres.query import run_postgres_query
from amzn_assets.backends.redshift.io_manager import RedshiftIOManager
from amzn_assets.settings import RedshiftSettings


class RedshiftBackend(Backend):
    name = "redshift"
    kind = "redshift"

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        return {"dagster/table_name": f"{self.settings.redshift.schema}.{table}"}

    def warehouse_io_manager(self):
        """Connection, staging and role from the AMZN_REDSHIFT_* settings."""
        r = self.settings.redshift
        return RedshiftIOManager(
            redshift=RedshiftClientResource(
                host=r.host, port=r.port, user=r.user, database=r.database,
                password=secret(self.settings, "AMZN_REDSHIFT_PASSWORD", r.password),
            ),
            # endpoint_url None: boto3 reads AWS_ENDPOINT_URL and the other AWS_* variables.
            s3=S3Resource(),
            staging_prefix=r.staging,
            iam_role_arn=r.iam_role,
            db_schema=r.schema,
            sql_dir=self.settings.sql_dir_override,
        )

    def query(self, sql: str):
        r = self.settings.redshift
        # Redshift speaks PostgreSQL's protocol; it has temporary tables but no temporary views.
        return run_postgres_query(libpq_url_of(r), r.schema, sql, shadow="TABLE")

    def location(self) -> str:
        r = self.settings.redshift
        return f"{r.host or '?'} schema {r.schema}"


def libpq_url_of(r: RedshiftSettings) -> str:
    """The cluster's libpq URL, user and password percent-encoded (a password may hold # : @ / %)."""
    return URL.create("postgresql", r.user, r.password, r.host, r.port, r.database).render_as_string(hide_password=False)


BACKEND = RedshiftBackend
