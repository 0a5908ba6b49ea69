"""Climate-side star tables: stations and climate."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables


def climate(landed: pa.Table) -> pa.Table:
    return landed.select(tables.CLIMATE_SCHEMA.names).cast(tables.CLIMATE_SCHEMA)


def stations(landed: pa.Table, station_list: pa.Table) -> pa.Table:
    """One row per station and day it reported.

    A station missing from the GHCN list still gets a row (named from the climate export, no
    coordinates, in_station_list false) so every climate row has its station.
    """
    seen = pa.table(
        {"station_id": landed["station_id"], "seen_date": landed["date"], "csv_name": landed["station_name"]}
    )
    seen = seen.group_by(["station_id", "seen_date"], use_threads=False).aggregate([("csv_name", "max")])
    listed = station_list.append_column("in_station_list", pa.array([True] * station_list.num_rows, pa.bool_()))
    joined = seen.join(listed, keys="station_id", join_type="left outer", use_threads=False)
    in_list = pc.fill_null(joined["in_station_list"], False)
    name = pc.if_else(in_list, joined["name"], joined["csv_name_max"])
    joined = joined.set_column(joined.schema.get_field_index("in_station_list"), "in_station_list", in_list)
    joined = joined.set_column(joined.schema.get_field_index("name"), "name", name)
    ordered = joined.select(tables.STATIONS_SCHEMA.names).cast(tables.STATIONS_SCHEMA)
    return ordered.sort_by([("seen_date", "ascending"), ("station_id", "ascending")])
