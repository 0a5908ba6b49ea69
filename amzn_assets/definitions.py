"""The code location: assets and resources, the storage chosen by AMZN_BACKEND."""

from __future__ import annotations

from dagster import Definitions, load_assets_from_modules
from dagster_aws.s3 import S3Resource

from amzn_assets.assets import climate, reviews
from amzn_assets.assets.station_checks import stations_known_and_named_once
from amzn_assets.assets.ml import ml_asset_checks, ml_assets, ml_resources, rating_model_job
from amzn_assets.celery_jobs import celery_jobs
from amzn_assets.resources import LandingZone
from amzn_assets.sensors import stream_job, stream_sensor
from amzn_assets.sensors.rating_model import rating_model_sensor
from amzn_assets.backends import backend_for
from amzn_assets.settings import Settings
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
    """resources_from the environment's settings with these explicit values (tests) over them."""
    settings = Settings.from_env().with_overrides(
        backend=backend,
        data_dir=data_dir,
        upload_url=upload_url,
        postgres_url=postgres_url,
        s3_prefix=s3_prefix,
        ledger_url=ledger_url or None,
    )
    return resources_from(settings)


def resources_from(settings: Settings) -> dict:
    """The resources of a deployment (the ML ones included), all from one Settings."""
    data_dir = str(settings.data_dir)
    landing = LandingZone(
        data_dir=data_dir,
        upload_url=settings.upload_url,
        ledger_url=_ledger_url_config(settings),
        # endpoint_url None: boto3 reads AWS_ENDPOINT_URL (a local S3 API) like every AWS_* variable.
        s3=S3Resource() if settings.uploads_to_s3 else None,
    )
    return ml_resources(settings.backend, data_dir, settings.s3_prefix_url, preset=settings.model_preset) | {
        "landing": landing,
        # The star tables go to the chosen backend; the landed_* staging tables stay local parquet.
        "io_manager": backend_for(settings).warehouse_io_manager(),
        "staging_io_manager": ParquetIOManager(base_path=str(settings.dirs.warehouse)),
    }


def _ledger_url_config(settings: Settings):
    """The ledger's URL for the resource's config: the variable's name when it holds a password."""
    if settings.ledger_url_override:
        return settings.secret("AMZN_LEDGER_URL", settings.ledger_url_override)
    if settings.ledger_url == settings.postgres_url:
        return settings.secret("AMZN_POSTGRES_URL", settings.postgres_url)
    return settings.ledger_url


def defs_for(settings: Settings) -> Definitions:
    return Definitions(
        assets=[*all_assets, *ml_assets],
        asset_checks=[*ml_asset_checks, stations_known_and_named_once],
        jobs=[stream_job, rating_model_job, *celery_jobs(ml_assets)],
        sensors=[stream_sensor, rating_model_sensor],
        resources=resources_from(settings),
    )


# The daily warehouse (landing, star schema); the rating-model assets are added beside it.
all_assets = load_assets_from_modules([reviews, climate])

defs = defs_for(Settings.from_env())
