"""The code location: the definitions under amzn_assets/domains and the resources the settings choose.

The domains folder is the `dg` project's defs folder ([tool.dg.project] defs_module in pyproject.toml):
load_from_defs_folder finds every asset, check, job and sensor defined at module scope under it, as
`dg list defs`, `dg check defs` and `dg dev` do; this module adds the resources, the executor and the
assets' code references, and is the project's code_location_target_module.
"""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions, in_process_executor, load_assets_from_modules, load_from_defs_folder, with_source_code_references
from dagster_aws.s3 import S3Resource

from amzn_assets.backends import backend_for
from amzn_assets.domains.climate import assets as climate_assets
from amzn_assets.domains.rating_model import ml_resources
from amzn_assets.domains.reviews import assets as review_assets
from amzn_assets.settings import Settings
from amzn_assets.storage.parquet import ParquetIOManager
from amzn_assets.wiring.resources import LandingZone


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
        return settings.secret("AMZN_LEDGER_URL", settings.ledger_url_override)
    if settings.ledger_url == settings.postgres_url:
        return settings.secret("AMZN_POSTGRES_URL", settings.postgres_url)
    return settings.ledger_url


def project_root() -> Path:
    """The dg project (its pyproject.toml holds [tool.dg]): the repository holding the package, or, for
    an installed package (the docker image), the working directory it runs from."""
    beside_package = Path(__file__).resolve().parents[1]
    return beside_package if (beside_package / "pyproject.toml").is_file() else Path.cwd()


def domain_defs() -> Definitions:
    """Every asset, check, job and sensor defined at module scope under amzn_assets/domains (the dg defs
    folder: a new one needs no registration here), each asset with a reference to its source code."""
    found = load_from_defs_folder(path_within_project=project_root())
    return Definitions(
        assets=with_source_code_references(_once(found.assets)),
        asset_checks=_once(found.asset_checks),
        jobs=_once(found.jobs),
        sensors=_once(found.sensors),
        schedules=_once(found.schedules),
    )


def _once(definitions) -> list:
    """Each definition once: a module that re-exports one (a domain's __init__) lists it again."""
    return list({id(d): d for d in definitions or []}.values())


def defs_for(settings: Settings) -> Definitions:
    """The domains' definitions with this deployment's resources."""
    return Definitions.merge(
        domain_defs(),
        # Steps of a run share its process (a job may name another executor: the Celery jobs do). A
        # step process costs ~4 s of imports and re-reads its inputs: a 4,770-day backfill of the
        # review assets took 170 s with one per step and 73 s in one process (docs/benchmarks.md).
        Definitions(resources=resources_from(settings), executor=in_process_executor),
    )


# The daily warehouse assets (reviews and climate), for materialize() in tests and benchmarks.
all_assets = load_assets_from_modules([review_assets, climate_assets])

defs = defs_for(Settings.from_env())
