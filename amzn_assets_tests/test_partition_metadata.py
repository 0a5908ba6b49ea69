"""Each partition's materialization describes that partition, in a run over a range too: summed
over the days, every per-day count equals the table's real count, and run-level figures are
recorded once (issue 14, point 1)."""

from __future__ import annotations

import gzip
from datetime import date, timedelta

import duckdb
import orjson
import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.tables import TABLES_BY_NAME
from amzn_assets_tests.warehouse_files import days_stored
from amzn_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_START, review_json, upload

# The sample's days and two more without data.
DAYS = [(SAMPLE_START + timedelta(days=i)).isoformat() for i in range(SAMPLE_DAYS + 2)]
TABLES = ["landed_reviews", "users", "products", "datetime", "reviews_fact", "landed_climate", "stations", "climate"]


def materializations(instance, table: str) -> dict[str, list]:
    found: dict[str, list] = {}
    for record in instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(table)), limit=10_000).records:
        found.setdefault(record.partition_key, []).append(record.asset_materialization.metadata)
    return found


def stored(dirs, table: str, where: str = "true") -> int:
    """Rows stored in the table's day partitions (every partition file, not the upsert view)."""
    folder = dirs.warehouse / table
    files = [str(p) for p in folder.glob("*.parquet")]
    if not files:
        return 0
    column = TABLES_BY_NAME[table].partition_column
    days = ", ".join(f"DATE '{d}'" for d in DAYS)
    return duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet({files!r}, union_by_name => true) WHERE {column} IN ({days}) AND {where}"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    from amzn_assets.generate import generate_sample
    from amzn_assets.data_dirs import DataDirs

    dirs = DataDirs(tmp_path_factory.mktemp("meta") / "data")
    generate_sample(dirs.root, seed=7, start=SAMPLE_START, days=SAMPLE_DAYS, reviews=400, stations=3)
    # The same review twice in one file: one row lands, one duplicate is merged, on 2018-01-02.
    line = orjson.dumps(review_json(reviewerID="A2DUPLICATE")) + b"\n"
    upload(dirs, "reviews/extra/dup.json.gz", gzip.compress(line + line, mtime=0))
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            all_assets, resources=resources_for("local", str(dirs.root)), instance=instance,
            tags={"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]},
        )
        assert result.success
        yield dirs, {table: materializations(instance, table) for table in TABLES}


@pytest.mark.parametrize("table", TABLES)
def test_one_materialization_per_day_whose_row_counts_sum_to_the_table(warehouse, table):
    dirs, events = warehouse
    assert sorted(events[table]) == DAYS and all(len(e) == 1 for e in events[table].values())
    per_day = {day: e[0]["dagster/row_count"].value for day, e in events[table].items()}
    assert sum(per_day.values()) == stored(dirs, table) > 0
    assert per_day[DAYS[-1]] == (1 if table == "datetime" else 0)  # a day without data says so
    # ... and is stored as no rows; every day with rows has them.
    assert days_stored(dirs.warehouse / table) == {d for d, n in per_day.items() if n}
    if "rows" in events[table][DAYS[0]][0]:
        assert all(e[0]["rows"].value == per_day[day] for day, e in events[table].items())
    # The run's own figures once, on its first partition, and named as the run's.
    carrying = [day for day, e in events[table].items() if "run_partitions_written" in e[0]]
    assert carrying == [DAYS[0]]
    assert events[table][DAYS[0]][0]["run_partitions_written"].value == len(DAYS)
    assert events[table][DAYS[0]][0]["run_rows_written"].value == sum(per_day.values())


def test_per_day_counts_of_each_builder_sum_to_the_truth(warehouse):
    dirs, events = warehouse

    def total(table: str, stat: str) -> int:
        return sum(e[0][stat].value for e in events[table].values())

    landed = Lander(dirs)
    records = duckdb.connect().execute(
        f"SELECT count(*) FROM read_parquet('{landed.segments.root}/reviews/**/*.parquet', union_by_name => true)"
    ).fetchone()[0]
    assert total("landed_reviews", "duplicate_reviews_merged") == records - stored(dirs, "landed_reviews") == 1
    assert events["landed_reviews"]["2018-01-02"][0]["duplicate_reviews_merged"].value == 1
    assert total("products", "products_without_metadata") == stored(dirs, "products", "NOT has_metadata")
    assert total("stations", "stations_not_in_list") == stored(dirs, "stations", "NOT in_station_list")
    for day, e in events["reviews_fact"].items():
        histogram = e[0]["rating_histogram"].value
        shown = sum(int(line.split("|")[2]) for line in histogram.splitlines()[2:])
        assert shown == e[0]["dagster/row_count"].value, day


def test_landing_figures_are_the_runs_and_recorded_once(warehouse):
    _, events = warehouse
    for table in ("landed_reviews", "landed_climate"):
        carrying = [day for day, e in events[table].items() if "files_landed_this_run" in e[0]]
        assert carrying == [DAYS[0]], table
    # Whichever landing asset ran first landed every file.
    assert sum(events[t][DAYS[0]][0]["files_landed_this_run"].value for t in ("landed_reviews", "landed_climate")) > 400
