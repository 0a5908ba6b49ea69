"""Parquet files under <AMZN_S3_PREFIX>/warehouse, model artifacts under <AMZN_S3_PREFIX>/models."""

from __future__ import annotations

from dagster_aws.s3 import S3Resource

from amzn_assets.backends.base import Backend
from amzn_assets.backends.local import parquet_uri
from amzn_assets.backends.local.io_manager import ParquetIOManager
from amzn_assets.backends.local.query import run_query
from amzn_assets.storage.artifacts import MODELS_DIR


class S3Backend(Backend):
    name = "s3"
    kind = "s3"

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        return {"dagster/uri": parquet_uri(self.warehouse_url, table, partitioned)}

    @property
    def warehouse_url(self) -> str:
        return self.settings.s3_prefix() + "/warehouse"

    def warehouse_io_manager(self):
        # S3Resource() without arguments: boto3 reads AWS_ENDPOINT_URL and the other AWS_* variables.
        return ParquetIOManager(base_path=self.warehouse_url, s3=S3Resource())

    def query(self, sql: str):
        return run_query(self.warehouse_url, sql, endpoint_url=self.settings.aws_endpoint_url or None)

    def location(self) -> str:
        return self.warehouse_url

    def models_base_path(self) -> str:
        return self.settings.s3_prefix() + "/" + MODELS_DIR


BACKEND = S3Backend
