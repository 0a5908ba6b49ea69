"""AMZN_BACKEND -> the IO manager that holds the star tables. Configuration only: the asset code
never knows which backend it writes to."""

from __future__ import annotations

import os

from dagster import EnvVar

from amzn_assets import settings
from amzn_assets.storage.parquet import ParquetIOManager

BACKENDS = ("local", "postgres", "s3", "redshift")


def _setting(value: str | None, env: str):
    """An explicit value (tests), else the environment variable through Dagster's EnvVar."""
    return value if value is not None else EnvVar(env)


def warehouse_io_manager(backend: str, data_dir: str, *, postgres_url: str | None = None, s3_prefix: str | None = None):
    if backend == "local":
        return ParquetIOManager(base_path=os.path.join(data_dir, "warehouse"))
    if backend == "postgres":
        from amzn_assets.storage.postgres import PostgresIOManager

        return PostgresIOManager(
            url=_setting(postgres_url, "AMZN_POSTGRES_URL"),
            db_schema=os.environ.get("AMZN_POSTGRES_SCHEMA", "public"),
        )
    if backend == "s3":
        from dagster_aws.s3 import S3Resource

        return ParquetIOManager(base_path=settings.s3_prefix(s3_prefix) + "/warehouse", s3=S3Resource())
    if backend == "redshift":
        from amzn_assets.storage.redshift import redshift_io_manager_from_env

        return redshift_io_manager_from_env()
    raise ValueError(f"AMZN_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
