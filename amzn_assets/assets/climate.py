"""Climate assets: landed_climate -> stations -> climate (produced in chunks of days, see reviews.py)."""

from collections import Counter

from dagster import AssetExecutionContext, asset

from amzn_assets import tables
from amzn_assets.assets.reporting import landing_metadata, map_counting_unmatched
from amzn_assets.assets.reviews import datetime
from amzn_assets.chunks import TableChunks
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
def landed_climate(context: AssetExecutionContext, landing: LandingZone) -> TableChunks:
    context.add_output_metadata(landing_metadata(landing.lander().land_pending()))
    reader = landing.reader()
    stats = Counter()

    def read(days: list[str]):
        rows = reader.climate(days)
        stats["rows"] += rows.num_rows
        return rows

    return TableChunks.by_days(context.partition_keys, tables.LANDED_CLIMATE_SCHEMA, read, summary=lambda: dict(stats))


@asset(**COMMON, metadata=tables.STATIONS.as_metadata(), description="Stations reporting each day, from the GHCN station list; upserted by station_id.")
def stations(landed_climate: TableChunks, landing: LandingZone) -> TableChunks:
    station_list = landing.reader().station_list()
    return map_counting_unmatched(
        landed_climate, lambda chunk: transform.stations(chunk, station_list), tables.STATIONS_SCHEMA,
        "in_station_list", "stations_not_in_list",
    )


@asset(
    **COMMON,
    metadata=tables.CLIMATE.as_metadata(),
    deps=[stations, datetime],
    description="Daily weather per station (standard units: °F, inches, mph).",
)
def climate(landed_climate: TableChunks) -> TableChunks:
    stats = Counter()

    def facts(chunk):
        result = transform.climate(chunk)
        stats["rows"] += result.num_rows
        return result

    return landed_climate.map(facts, tables.CLIMATE_SCHEMA, summary=lambda: dict(stats))
