"""Stations the climate data names that the station list does not, and stations whose name
changed from one climate file to another (plain Python, vectorized; no Dagster here).

A climate row for a station missing from the list still lands (its station row has no coordinates
and in_station_list false), and a later file's station name wins in `stations`: both are worth a
count and a few examples instead of passing silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.landing.kinds import CLIMATE
from amzn_assets.landing.readers import LandedReader

EXAMPLES = 5


@dataclass(frozen=True)
class StationFindings:
    stations_observed: int  # distinct stations in the landed climate rows
    unknown_stations: int  # ... of which not in the station list
    unknown_station_days: int  # landed climate rows (station-days) of those
    renamed_stations: int  # stations whose landed climate rows carry more than one name
    unknown_examples: tuple[str, ...]
    renamed_examples: tuple[str, ...]  # "ID: name1 | name2"

    @property
    def passed(self) -> bool:
        return not self.unknown_stations and not self.renamed_stations

    def description(self) -> str:
        if self.passed:
            return f"{self.stations_observed} stations in the climate data, every one in the station list, one name each"
        parts = []
        if self.unknown_stations:
            parts.append(
                f"{self.unknown_stations} of {self.stations_observed} stations not in the station list "
                f"({self.unknown_station_days} station-days; e.g. {', '.join(self.unknown_examples)})"
            )
        if self.renamed_stations:
            parts.append(f"{self.renamed_stations} stations renamed between climate files (e.g. {'; '.join(self.renamed_examples)})")
        return "; ".join(parts)

    def metadata(self) -> dict:
        return {
            "stations_observed": self.stations_observed,
            "unknown_stations": self.unknown_stations,
            "unknown_station_days": self.unknown_station_days,
            "renamed_stations": self.renamed_stations,
        }


def station_findings(observed: pa.Table, station_list: pa.Table) -> StationFindings:
    """observed: landed climate rows (station_id, station_name); station_list: the landed list."""
    ids = observed["station_id"]
    listed = station_list["station_id"] if station_list.num_rows else pa.array([], pa.string())
    unknown_rows = pc.invert(pc.is_in(ids, listed))
    unknown = pc.unique(ids.filter(unknown_rows))
    names = (
        pa.table({"station_id": ids, "station_name": observed["station_name"]})
        .filter(pc.is_valid(observed["station_name"]))
        .group_by("station_id", use_threads=False)
        .aggregate([("station_name", "distinct")])
    )
    renamed = names.filter(pc.greater(pc.list_value_length(names["station_name_distinct"]), 1)).sort_by("station_id")
    return StationFindings(
        stations_observed=len(pc.unique(ids)),
        unknown_stations=len(unknown),
        unknown_station_days=pc.sum(unknown_rows).as_py() or 0,
        renamed_stations=renamed.num_rows,
        unknown_examples=tuple(sorted(unknown.to_pylist())[:EXAMPLES]),
        renamed_examples=tuple(
            f"{sid}: {' | '.join(sorted(n))}"
            for sid, n in zip(renamed["station_id"].to_pylist()[:EXAMPLES], renamed["station_name_distinct"].to_pylist()[:EXAMPLES])
        ),
    )


def landed_station_findings(reader: LandedReader) -> StationFindings:
    """The findings over everything landed: two columns of every committed climate segment."""
    committed = reader.ledger.committed_batches(CLIMATE.name)
    observed = reader.segments.read_all_partitions(CLIMATE.name, CLIMATE.partition_column, ["station_id", "station_name"], committed)
    return station_findings(observed, reader.station_list())
