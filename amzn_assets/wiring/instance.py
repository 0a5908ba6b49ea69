"""What the sensors and checks read back from the Dagster instance, and what they share.

- latest_materializations: each partition's latest materialization record (run id, timestamp).
- SERIAL_TAG, listing_digest, sensor_status: the sensors' run tag, run keys and default status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence

from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, DefaultSensorStatus, EventLogRecord

# Runs that write the warehouse share this tag; dagster.yaml lets one such run at a time, oldest
# first, so a later run (which sees more landed data) always writes last.
SERIAL_TAG = {"amzn/serial": "warehouse"}


def listing_digest(paths: Iterable[str]) -> str:
    return hashlib.sha256(json.dumps(sorted(paths)).encode()).hexdigest()[:16]


def sensor_status(running: bool) -> DefaultSensorStatus:
    """A sensor's default status from its setting (AMZN_SENSORS_RUNNING, AMZN_MODEL_SENSOR_RUNNING)."""
    return DefaultSensorStatus.RUNNING if running else DefaultSensorStatus.STOPPED


def latest_materializations(instance: DagsterInstance, asset: str, days: Sequence[str], page: int = 1_000) -> dict[str, EventLogRecord]:
    """Each of these partitions' latest materialization record (absent: never materialized)."""
    found: dict[str, EventLogRecord] = {}
    wanted, cursor = set(days), None
    while wanted:
        result = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey(asset), asset_partitions=sorted(wanted)), limit=page, cursor=cursor
        )
        for record in result.records:  # newest first: the first record of a partition is its latest
            if record.partition_key in wanted:
                found[record.partition_key] = record
                wanted.discard(record.partition_key)
        if not result.has_more:
            break
        cursor = result.cursor
    return found
