"""The code location: assets and resources, the storage chosen by AMZN_BACKEND."""

from __future__ import annotations

import os

from dagster import Definitions, load_assets_from_modules
from dagster_aws.s3 import S3Resource

from amzn_assets.assets import climate, reviews
from amzn_assets.assets.ml import ml_asset_checks, ml_assets, ml_resources, rating_model_job
from amzn_assets.celery_jobs import celery_jobs
from amzn_assets.resources import LandingZone
from amzn_assets.sensors import stream_job, stream_sensor
from amzn_assets.sensors.rating_model import rating_model_sensor
from amzn_assets.settings import data_dir_from_env
from amzn_assets.storage.backends import warehouse_io_manager
from amzn_assets.storage.parquet import ParquetIOManager


def resources_for(
    backend: str,
    data_dir: str,
    upload_url: str = "",
    *,
    postgres_url: str | None = None,
    s3_prefix: str | None = None,
    ledger_url: str = "",
) -> dict:
    """The resources of a deployment (the ML ones included); explicit arguments (tests) override the
    environment."""
    if not ledger_url and backend == "postgres" and postgres_url:
        ledger_url = postgres_url  # else the ledger follows the environment (DataDirs.ledger_url)
    landing = LandingZone(
        data_dir=data_dir,
        upload_url=upload_url,
        ledger_url=ledger_url,
        # endpoint_url None: boto3 reads AWS_ENDPOINT_URL (a local S3 API) like every AWS_* variable.
        s3=S3Resource() if upload_url.startswith("s3://") else None,
    )
    return ml_resources(backend, data_dir, s3_prefix) | {
        "landing": landing,
        # The star tables go to the chosen backend; the landed_* staging tables stay local parquet.
        "io_manager": warehouse_io_manager(backend, data_dir, postgres_url=postgres_url, s3_prefix=s3_prefix),
        "staging_io_manager": ParquetIOManager(base_path=os.path.join(data_dir, "warehouse")),
    }


# The daily warehouse (landing, star schema); the rating-model assets are added beside it.
all_assets = load_assets_from_modules([reviews, climate])

defs = Definitions(
    assets=[*all_assets, *ml_assets],
    asset_checks=ml_asset_checks,
    jobs=[stream_job, rating_model_job, *celery_jobs(ml_assets)],
    sensors=[stream_sensor, rating_model_sensor],
    resources=resources_for(
        os.environ.get("AMZN_BACKEND", "local"), str(data_dir_from_env()), os.environ.get("AMZN_UPLOAD_URL", "")
    ),
)
