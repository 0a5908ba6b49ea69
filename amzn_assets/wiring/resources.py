"""The landing zone as a Dagster resource: where uploads arrive and landed segments live."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from dagster_aws.s3 import S3Resource

from amzn_assets.landing.intake import Lander, lander_for, read_limits
from amzn_assets.landing.readers import LandedReader
from amzn_assets.data_dirs import DataDirs


class LandingZone(ConfigurableResource):
    """data_dir holds the landed segments and the ledger; upload_url (default: data_dir) holds
    uploaded/, raw/ and quarantine/, on local disk or at s3://bucket/prefix."""

    data_dir: str
    upload_url: str = ""
    ledger_url: str = ""  # SQLAlchemy or libpq URL; default: SQLite under data_dir/landed
    s3: S3Resource | None = None
    # What one uploaded file may hold (AMZN_UPLOAD_MAX_*; sources/inflate.py ReadLimits)
    max_file_mb: int = 12
    max_inflated_mb: int = 12
    max_ratio: int = 100
    max_line_mb: int = 16
    partial_grace_s: int = 120

    def dirs(self) -> DataDirs:
        return DataDirs(Path(self.data_dir).resolve())

    def lander(self) -> Lander:
        client = (self.s3 or S3Resource()).get_client() if self.upload_url.startswith("s3://") else None
        limits = read_limits(self.max_file_mb, self.max_inflated_mb, self.max_ratio, self.max_line_mb, self.partial_grace_s)
        return lander_for(self.dirs(), upload_url=self.upload_url, ledger_url=self.ledger_url, s3_client=client, limits=limits)

    def reader(self) -> LandedReader:
        lander = self.lander()
        return LandedReader(lander.ledger, lander.segments)
