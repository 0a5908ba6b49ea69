"""The asset graph materialized in-process on the embedded default (parquet)."""

from __future__ import annotations

from collections import Counter

import pytest
from dagster import AssetKey, DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.warehouse_files import days_stored

DAYS = ["2018-01-01", "2018-01-02", "2018-01-03"]
TABLES = ["landed_reviews", "users", "products", "datetime", "reviews_fact", "landed_climate", "stations", "climate"]


def run(dirs, instance, **kwargs):
    result = materialize(all_assets, resources=resources_for("local", str(dirs.root)), instance=instance, **kwargs)
    assert result.success
    return result


def snapshot(dirs) -> dict[str, list]:
    """Every table's rows, sorted, for comparing two materializations."""
    out = {}
    for name in TABLES:
        rows = run_query(dirs.warehouse, f'SELECT * FROM "{name}"').rows
        out[name] = sorted(rows, key=repr)
    return out


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def three_days(dirs, sample, instance):
    for day in DAYS:
        run(dirs, instance, partition_key=day)
    return dirs


def test_every_asset_materializes_for_three_partitions(three_days, instance):
    dirs = three_days
    for name in TABLES:
        assert sorted(days_stored(dirs.warehouse / name)) == DAYS, name
    fact = run_query(dirs.warehouse, "SELECT review_date, count(*) FROM reviews_fact GROUP BY 1 ORDER BY 1").rows
    lander = Lander(dirs)
    landed, _ = LandedReader(lander.ledger, lander.segments).reviews(DAYS)
    expected = Counter(str(d) for d in landed["review_date"].to_pylist())
    assert [(str(d), n) for d, n in fact] == sorted(expected.items())
    # Every fact row finds its dimension rows.
    orphans = run_query(
        dirs.warehouse,
        """SELECT count(*) FROM reviews_fact f
           LEFT JOIN users u USING (reviewer_id)
           LEFT JOIN products p USING (asin)
           LEFT JOIN datetime d ON d.date = f.review_date
           WHERE u.reviewer_id IS NULL OR p.asin IS NULL OR d.date IS NULL""",
    ).rows
    assert orphans == [(0,)]
    assert run_query(dirs.warehouse, "SELECT count(*) FROM products WHERE NOT has_metadata").rows == [(0,)]
    climate = run_query(dirs.warehouse, "SELECT count(*), count(DISTINCT station_id) FROM climate").rows
    assert climate == [(3 * 3, 3)]  # three reporting stations, every day


def test_materialization_metadata(three_days, instance):
    event = instance.get_latest_materialization_event(AssetKey("reviews_fact")).asset_materialization
    assert event.partition == DAYS[-1]
    meta = event.metadata
    rows = run_query(three_days.warehouse, f"SELECT count(*) FROM reviews_fact WHERE review_date = '{DAYS[-1]}'").rows
    assert meta["rows"].value == meta["dagster/row_count"].value == rows[0][0] > 0
    assert "| ★★★★★ |" in meta["rating_histogram"].value
    landed = instance.get_latest_materialization_event(AssetKey("landed_reviews")).asset_materialization.metadata
    assert {"duplicate_reviews_merged", "records_quarantined_this_run", "landing_rows_per_s"} <= set(landed)


def test_rematerializing_a_partition_gives_identical_rows(three_days, instance):
    before = snapshot(three_days)
    run(three_days, instance, partition_key=DAYS[1])
    assert snapshot(three_days) == before


def test_one_run_over_a_range_equals_one_run_per_partition(three_days, dirs, instance):
    per_partition = snapshot(dirs)
    for name in TABLES:
        for path in (dirs.warehouse / name).glob("*.parquet"):
            path.unlink()  # every month file
    result = run(
        dirs,
        instance,
        tags={"dagster/asset_partition_range_start": DAYS[0], "dagster/asset_partition_range_end": DAYS[-1]},
    )
    assert result.success
    assert snapshot(dirs) == per_partition


def test_loading_an_unmaterialized_upstream_partition_fails_clearly(dirs, sample, instance):
    with pytest.raises(Exception, match="no materialization for partitions"):
        materialize(
            all_assets,
            resources=resources_for("local", str(dirs.root)),
            instance=instance,
            partition_key=DAYS[0],
            selection="reviews_fact",
        )


def test_unmatched_rows_are_counted_across_chunks():
    import pyarrow as pa

    from amzn_assets.warehouse.star import counting_unmatched
    from amzn_assets.chunks import TableChunks

    days = {
        "d1": pa.table({"day": ["d1"] * 3, "found": [True, False, True]}),
        "d2": pa.table({"day": ["d2"] * 2, "found": [False, False]}),
    }
    chunks = TableChunks.by_days(list(days), days["d1"].schema, lambda keys: pa.concat_tables([days[k] for k in keys]), days=1)
    mapped = counting_unmatched(chunks, lambda t: t, days["d1"].schema, "found", "not_found", column="day")
    assert mapped.read_all().num_rows == 5
    per_day = mapped.summary()["per_day"]
    assert (per_day.of_day("d1"), per_day.of_day("d2")) == ({"rows": 3, "not_found": 1}, {"rows": 2, "not_found": 2})
