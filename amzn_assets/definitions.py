"""The code location: assets and resources, the storage chosen by AMZN_BACKEND."""

from __future__ import annotations

import os

from dagster import Definitions, load_assets_from_modules
from dagster_aws.s3 import S3Resource

from amzn_assets.assets import climate, reviews
from amzn_assets.resources import LandingZone
from amzn_assets.sensors import land_uploads_job, landed_partitions_sensor, upload_sensor
from amzn_assets.settings import data_dir_from_env
from amzn_assets.storage.parquet import ParquetIOManager

BACKENDS = ("local",)


def resources_for(backend: str, data_dir: str, upload_url: str = "") -> dict:
    if backend not in BACKENDS:
        raise ValueError(f"AMZN_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    warehouse = os.path.join(data_dir, "warehouse")
    landing = LandingZone(data_dir=data_dir, upload_url=upload_url)
    if upload_url.startswith("s3://"):
        # endpoint_url None: boto3 reads AWS_ENDPOINT_URL (a local S3 API) like every AWS_* variable.
        landing = LandingZone(data_dir=data_dir, upload_url=upload_url, s3=S3Resource())
    return {
        "landing": landing,
        # The star tables go to the chosen backend; the landed_* staging tables stay parquet.
        "io_manager": ParquetIOManager(base_path=warehouse),
        "staging_io_manager": ParquetIOManager(base_path=warehouse),
    }


all_assets = load_assets_from_modules([reviews, climate])

defs = Definitions(
    assets=all_assets,
    jobs=[land_uploads_job],
    sensors=[upload_sensor, landed_partitions_sensor],
    resources=resources_for(
        os.environ.get("AMZN_BACKEND", "local"), str(data_dir_from_env()), os.environ.get("AMZN_UPLOAD_URL", "")
    ),
)
