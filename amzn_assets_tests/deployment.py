"""The code location's definitions and resources under this test process's environment, for tests
that materialize assets in-process (the package reads the environment only in its two entry points).

- all_assets: the daily warehouse assets; analysis: the monthly analysis assets; ml_assets, ml_asset_checks: the rating model's.
- resources_for(backend, data_dir, ...): the environment's settings with these explicit values over them.
"""

from __future__ import annotations

from pathlib import Path

from amzn_assets.backends import backend_for
from amzn_assets.definitions import daily_assets, resources_from
from amzn_assets.domains.analysis.assets import analysis_assets
from amzn_assets.domains.rating_model import model_assets
from amzn_assets.settings import Settings

ENV_SETTINGS = Settings.from_env()
all_assets = daily_assets(ENV_SETTINGS)
analysis = analysis_assets(ENV_SETTINGS)
ml_assets, ml_asset_checks = model_assets(ENV_SETTINGS)


def resources_for(
    backend: str,
    data_dir: str,
    upload_url: str = "",
    *,
    postgres_url: str | None = None,
    s3_prefix: str | None = None,
    ledger_url: str = "",
) -> dict:
    settings = Settings.from_env().with_overrides(
        backend=backend,
        data_dir=data_dir,
        upload_url=upload_url,
        postgres_url=postgres_url,
        s3_prefix=s3_prefix,
        ledger_url=ledger_url or None,
    )
    return resources_from(settings)


def query_from_env(local_warehouse: Path):
    """`amzn-assets query`'s target under the environment's settings, over this data directory's warehouse."""
    return backend_for(Settings.from_env().with_data_dir(Path(local_warehouse).parent)).query
