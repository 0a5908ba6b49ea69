"""The landing zone as a Dagster resource: where uploads arrive and landed segments live."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.settings import DataDirs


class LandingZone(ConfigurableResource):
    data_dir: str

    def dirs(self) -> DataDirs:
        return DataDirs(Path(self.data_dir).resolve())

    def lander(self) -> Lander:
        return Lander(self.dirs())

    def reader(self) -> LandedReader:
        lander = self.lander()
        return LandedReader(lander.ledger, lander.segments)
