"""Climate stations missing from the station list and stations renamed between climate files are
counted and reported: the asset check on stations (asset runs and stream_job), the summary lines
(issue 14, point 3)."""

from __future__ import annotations

import pyarrow as pa
from dagster import AssetCheckKey, AssetKey, DagsterInstance, materialize

from amzn_assets.domains.climate.checks import CHECK_NAME, stations_known_and_named_once
from amzn_assets.checks.stations import station_findings
from amzn_assets.checks.summary import station_lines
from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.domains.stream.job import stream_job
from amzn_assets_tests.conftest import upload

HEADER = '"STATION","NAME","DATE","TMAX","TMIN"\n'


def test_findings_count_unknown_and_renamed_stations():
    observed = pa.table({"station_id": ["A", "A", "B", "B", "C", "C"], "station_name": ["x", "y", "b", "b", "c", None]})
    found = station_findings(observed, pa.table({"station_id": ["A", "C", "Z"]}))
    assert (found.stations_observed, found.unknown_stations, found.unknown_station_days, found.renamed_stations) == (3, 1, 2, 1)
    assert found.unknown_examples == ("B",) and found.renamed_examples == ("A: x | y",)
    assert not found.passed and "1 of 3 stations not in the station list" in found.description()
    assert station_findings(observed.slice(4), pa.table({"station_id": ["C"]})).passed


def unknown_and_renamed(dirs, sample) -> str:
    """Upload a CSV of a station the list lacks, and a second file renaming a listed station."""
    upload(dirs, "climate/UNKNOWN1.csv", (HEADER + '"ZZZ00000001","NOWHERE, XX US","2018-01-02","50","40"\n').encode())
    known = sample.climate_files[0].stem
    upload(dirs, "climate/renamed.csv", (HEADER + f'"{known}","NEW NAME, XX US","2018-01-03","50","40"\n').encode())
    return known


def test_the_asset_check_warns_with_the_counts_after_an_asset_run(dirs, sample):
    unknown_and_renamed(dirs, sample)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [*all_assets, stations_known_and_named_once], resources=resources_for("local", str(dirs.root)), instance=instance,
            tags={"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-05"},
        )
        assert result.success  # it warns, never blocks
        (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    assert not evaluation.passed
    assert evaluation.metadata["unknown_stations"].value == 1
    assert evaluation.metadata["unknown_station_days"].value == 1
    assert evaluation.metadata["renamed_stations"].value == 1
    lander = Lander(dirs)
    lines = station_lines(LandedReader(lander.ledger, lander.segments))
    assert "not in the station list: 1 (1 station-days), renamed between files: 1" in lines[0]
    assert "ZZZ00000001" in lines[1]


def test_the_stream_job_records_the_same_evaluation(dirs, sample):
    known = unknown_and_renamed(dirs, sample)
    with DagsterInstance.ephemeral() as instance:
        result = stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
        assert result.success
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [AssetCheckKey(AssetKey("stations"), CHECK_NAME)]
        )[AssetCheckKey(AssetKey("stations"), CHECK_NAME)]
        evaluation = record.event.dagster_event.event_specific_data
    assert not evaluation.passed and known in evaluation.description
