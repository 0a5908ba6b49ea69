"""What the domains' table assets share: the daily assets' partitions, backfill policy, group,
owners and retry policy; the pool, kind and catalog metadata of an asset that writes the warehouse;
the staging and reference tables' settings."""

from dagster import BackfillPolicy

from amzn_assets import tables
from amzn_assets.settings import Settings
from amzn_assets.wiring import groups
from amzn_assets.wiring.catalog import STAGING_KINDS, staging_metadata, warehouse_kinds, warehouse_metadata
from amzn_assets.wiring.partitions import daily_backfill_policy, daily_partitions
from amzn_assets.wiring.policies import TRANSIENT_RETRY, WAREHOUSE_POOL


def daily(settings: Settings, group: str) -> dict:
    """What every daily asset of a group shares."""
    return dict(
        partitions_def=daily_partitions, backfill_policy=daily_backfill_policy(settings), group_name=group, owners=groups.OWNERS,
        retry_policy=TRANSIENT_RETRY,  # a database restart or an S3 5xx: retried with backoff (wiring/policies.py)
    )


def writes_warehouse(settings: Settings, spec: tables.TableSpec) -> dict:
    """An asset that writes the configured warehouse: the pool, the backend's kind, where the table lives."""
    return dict(pool=WAREHOUSE_POOL, kinds=warehouse_kinds(settings), metadata=warehouse_metadata(settings, spec))


def landed_from_uploads(settings: Settings, spec: tables.TableSpec) -> dict:
    """A landed_* table: read from the upload area, kept as local parquet whatever the backend."""
    return dict(
        metadata=staging_metadata(settings, spec), deps=["upload_area"], io_manager_key="staging_io_manager", kinds=STAGING_KINDS,
    )


def whole_reference_table(settings: Settings, group: str, spec: tables.TableSpec) -> dict:
    """An unpartitioned reference table (product_catalog, station_list): runs beside a range of the daily assets."""
    return dict(
        group_name=group, owners=groups.OWNERS, backfill_policy=BackfillPolicy.single_run(), retry_policy=TRANSIENT_RETRY,
        **writes_warehouse(settings, spec),
    )
