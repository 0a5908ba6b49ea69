"""The code location: assets and resources, the storage chosen by AMZN_BACKEND."""

from __future__ import annotations

import os

from dagster import Definitions, load_assets_from_modules

from amzn_assets.assets import climate, reviews
from amzn_assets.resources import LandingZone
from amzn_assets.settings import data_dir_from_env
from amzn_assets.storage.parquet import ParquetIOManager

BACKENDS = ("local",)


def resources_for(backend: str, data_dir: str) -> dict:
    if backend not in BACKENDS:
        raise ValueError(f"AMZN_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
    warehouse = os.path.join(data_dir, "warehouse")
    return {
        "landing": LandingZone(data_dir=data_dir),
        # The star tables go to the chosen backend; the landed_* staging tables stay parquet.
        "io_manager": ParquetIOManager(base_path=warehouse),
        "staging_io_manager": ParquetIOManager(base_path=warehouse),
    }


all_assets = load_assets_from_modules([reviews, climate])

defs = Definitions(
    assets=all_assets,
    resources=resources_for(os.environ.get("AMZN_BACKEND", "local"), str(data_dir_from_env())),
)
