"""Streaming: the upload sensor lands new files; the landed-partitions sensor materializes the days they fed."""

from amzn_assets.sensors.landed import landed_partitions_sensor
from amzn_assets.sensors.uploads import land_uploads_job, upload_sensor

__all__ = ["land_uploads_job", "landed_partitions_sensor", "upload_sensor"]
