"""The code location: every domain's definitions, built from one Settings, and the resources it chooses.

`defs` (a @dagster.definitions function, so nothing is built at import) is where the code location
reads the environment: dagster, `dg` ([tool.dg.project] code_location_target_module) and the webserver
load it. defs_for(settings) builds the same definitions from any Settings, in-process (tests).

Every domain under amzn_assets/domains (the `dg` project's defs folder) exposes factories from a
Settings (its backfill policy, freshness, sensors' interval and status, the model's window, where the
tables live), composed here: a definition that depends on a setting cannot be a module-scope object
that load_from_defs_folder would find, and a defs folder's @definitions function gets only a
ComponentLoadContext, not the deployment's Settings (docs/contributing.md).
"""

from __future__ import annotations

from dagster import Definitions, definitions, in_process_executor, with_source_code_references
from dagster_aws.s3 import S3Resource

from amzn_assets.backends import backend_for, ledger_url
from amzn_assets.backends.base import secret
from amzn_assets.backends.local.io_manager import ParquetIOManager
from amzn_assets.domains.analysis.assets import analysis_assets
from amzn_assets.domains.analysis.automation import analysis_sensors
from amzn_assets.domains.climate.assets import climate_assets
from amzn_assets.domains.climate.checks import stations_known_and_named_once
from amzn_assets.domains.rating_model import ml_resources, model_assets, model_sensors, rating_model_job
from amzn_assets.domains.rating_model.jobs import ml_daily_celery_job, ml_monthly_celery_job
from amzn_assets.domains.reviews.assets import review_assets
from amzn_assets.domains.stream.job import stream_job
from amzn_assets.domains.stream.sensor import stream_sensor
from amzn_assets.domains.uploads.area import upload_area
from amzn_assets.domains.warehouse.jobs import warehouse_celery_job
from amzn_assets.settings import Settings
from amzn_assets.wiring.resources import LandingZone


def resources_from(settings: Settings) -> dict:
    """The resources of a deployment (the ML ones included), all from one Settings."""
    data_dir = str(settings.data_dir)
    landing = LandingZone(
        data_dir=data_dir,
        upload_url=settings.upload_url,
        ledger_url=_ledger_url_config(settings),
        # endpoint_url None: boto3 reads AWS_ENDPOINT_URL (a local S3 API) like every AWS_* variable.
        s3=S3Resource() if settings.uploads_to_s3 else None,
        max_file_mb=settings.upload_max_file_mb,
        max_inflated_mb=settings.upload_max_inflated_mb,
        max_ratio=settings.upload_max_ratio,
        max_line_mb=settings.upload_max_line_mb,
        partial_grace_s=settings.upload_partial_grace_s,
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
        return secret(settings, "AMZN_LEDGER_URL", settings.ledger_url_override)
    url = ledger_url(settings)
    if url == settings.postgres_url:
        return secret(settings, "AMZN_POSTGRES_URL", settings.postgres_url)
    return url


def daily_assets(settings: Settings) -> list:
    """The daily warehouse assets (reviews and climate), for materialize() in tests and benchmarks."""
    return [*review_assets(settings), *climate_assets(settings)]


def domain_defs(settings: Settings) -> Definitions:
    """Every asset, check, job and sensor of the domains, each asset with a reference to its source code."""
    ml_assets, ml_checks = model_assets(settings)
    return Definitions(
        assets=with_source_code_references([upload_area(settings), *daily_assets(settings), *analysis_assets(settings), *ml_assets]),
        asset_checks=[stations_known_and_named_once, *ml_checks],
        jobs=[stream_job, rating_model_job, warehouse_celery_job, ml_monthly_celery_job, ml_daily_celery_job],
        sensors=[stream_sensor(settings), *analysis_sensors(settings), *model_sensors(settings)],
    )


def defs_for(settings: Settings) -> Definitions:
    """The domains' definitions with this deployment's resources."""
    return Definitions.merge(
        domain_defs(settings),
        # Steps of a run share its process (a job may name another executor: the Celery jobs do). A
        # step process costs ~4 s of imports and re-reads its inputs: a 4,770-day backfill of the
        # review assets took 170 s with one per step and 73 s in one process (docs/benchmarks.md).
        Definitions(resources=resources_from(settings), executor=in_process_executor),
    )


@definitions
def defs() -> Definitions:
    """The code location under this process's environment (read here and in the CLI's main only)."""
    return defs_for(Settings.from_env())
