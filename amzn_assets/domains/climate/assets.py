"""Climate assets: landed_climate -> stations -> climate, and station_list (unpartitioned: every landed
station); built by amzn_assets.warehouse.star, made assets by climate_assets(settings) as the review
assets are (domains/reviews/assets.py)."""

import pyarrow as pa
from dagster import AssetExecutionContext, AssetsDefinition, Output, asset

from amzn_assets import tables
from amzn_assets.chunks import TableChunks
from amzn_assets.settings import Settings
from amzn_assets.warehouse import star
from amzn_assets.domains.climate.checks import climate_check_specs
from amzn_assets.wiring import groups
from amzn_assets.wiring.checks import checked_output
from amzn_assets.wiring.reporting import reader_through, record_landing
from amzn_assets.wiring.resources import LandingZone
from amzn_assets.wiring.table_assets import daily, landed_from_uploads, whole_reference_table, writes_warehouse


def landed_climate(context: AssetExecutionContext, landing: LandingZone) -> TableChunks:
    record_landing(context, landing)
    reader = reader_through(context, landing, "climate")
    return star.landed_climate(reader, context.partition_keys)


def stations(context: AssetExecutionContext, landed_climate: TableChunks, landing: LandingZone) -> TableChunks:
    reader = reader_through(context, landing, "stations")
    return star.stations(landed_climate, reader.station_list())


def station_list(context: AssetExecutionContext, landing: LandingZone) -> pa.Table:
    reader = reader_through(context, landing, "stations")
    return star.station_list(reader)


def climate(context: AssetExecutionContext, landed_climate: TableChunks):
    yield from checked_output(context, "climate", Output(star.climate(landed_climate)))


def climate_assets(settings: Settings) -> list[AssetsDefinition]:
    common = daily(settings, groups.CLIMATE)
    return [
        asset(
            **common,
            **landed_from_uploads(settings, tables.LANDED_CLIMATE),
            description="NOAA daily observations landed from the upload area, per observation day.",
        )(landed_climate),
        asset(
            **common, **writes_warehouse(settings, tables.STATIONS),
            description="Stations reporting each day, from the GHCN station list; upserted by station_id.",
        )(stations),
        asset(
            **whole_reference_table(settings, groups.CLIMATE, tables.STATION_LIST),
            description="Every station of the landed GHCN station list, reported on or not; replaced whole when a list lands. "
            "Queried as part of `stations` (docs/data-model.md).",
        )(station_list),
        asset(
            **common,
            **writes_warehouse(settings, tables.CLIMATE),
            deps=["stations", "datetime"],
            check_specs=climate_check_specs(),
            required_resource_keys={"io_manager", "landing"},  # the checks read back through them
            description="Daily weather per station (standard units: °F, inches, mph).",
        )(climate),
    ]
