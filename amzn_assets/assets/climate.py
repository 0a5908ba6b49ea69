"""Climate assets: landed_climate -> stations -> climate."""

import pyarrow as pa
from dagster import AssetExecutionContext, asset

from amzn_assets import tables
from amzn_assets.assets.reporting import rate
from amzn_assets.assets.reviews import datetime
from amzn_assets.partitions import daily_partitions, single_run_backfill
from amzn_assets.resources import LandingZone
from amzn_assets.transforms import climate as transform

COMMON = dict(partitions_def=daily_partitions, backfill_policy=single_run_backfill, group_name="climate")


@asset(
    **COMMON,
    metadata=tables.LANDED_CLIMATE.as_metadata(),
    io_manager_key="staging_io_manager",
    description="NOAA daily observations landed from the upload area, per observation day.",
    kinds={"parquet"},
)
def landed_climate(context: AssetExecutionContext, landing: LandingZone) -> pa.Table:
    report = landing.lander().land_pending()
    rows = landing.reader().climate(context.partition_keys)
    context.add_output_metadata(
        {
            "rows": rows.num_rows,
            "files_landed_this_run": report.files_landed,
            "records_quarantined_this_run": report.rejected_records,
            "landing_rows_per_s": rate(report.rows, report.seconds),
        }
    )
    return rows


@asset(**COMMON, metadata=tables.STATIONS.as_metadata(), description="Stations reporting each day, from the GHCN station list; upserted by station_id.")
def stations(context: AssetExecutionContext, landed_climate: pa.Table, landing: LandingZone) -> pa.Table:
    result = transform.stations(landed_climate, landing.reader().station_list())
    unlisted = result.num_rows - sum(result["in_station_list"].to_pylist())
    context.add_output_metadata({"rows": result.num_rows, "stations_not_in_list": unlisted})
    return result


@asset(
    **COMMON,
    metadata=tables.CLIMATE.as_metadata(),
    deps=[stations, datetime],
    description="Daily weather per station (standard units: °F, inches, mph).",
)
def climate(context: AssetExecutionContext, landed_climate: pa.Table) -> pa.Table:
    result = transform.climate(landed_climate)
    context.add_output_metadata({"rows": result.num_rows})
    return result
