"""The warehouse asset checks on the local (parquet) backend: every check passes on a clean range run
(one evaluation per check and day), each fails on its own broken table, a failed blocking check stops
the run's downstream steps and the rating model (asset and sensor), the stream job records the same
evaluations, and `amzn-assets summary` reports them."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from dagster import AssetKey, BackfillPolicy, DagsterInstance, Failure, asset, build_sensor_context, materialize
from dagster._core.instance.ref import InstanceRef

from amzn_assets.domains.rating_model import ml_resources, model_sensors
from amzn_assets.checks.freshness import LandedBatch, reviews_freshness
from amzn_assets.checks.warehouse import CHECKS
from amzn_assets.cli import main
from amzn_assets_tests.deployment import ENV_SETTINGS, all_assets, ml_assets, resources_for
from amzn_assets.wiring.partitions import daily_partitions
from amzn_assets.domains.stream.job import stream_job
from amzn_assets.warehouse import star
from amzn_assets_tests import broken
from amzn_assets_tests.broken import DAYS, RANGE
from amzn_assets_tests.daemon import create_instance
from amzn_assets_tests.warehouse_files import delete_day, rewrite_day

PER_DAY = [c for c in CHECKS if c.per_day]


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def resources(dirs):
    broken.generate(dirs)
    return resources_for("local", str(dirs.root))


def run(resources, instance, **kwargs):
    return materialize(all_assets, resources=resources, instance=instance, **kwargs)


def set_value(table: pa.Table, column: str, row: int, value) -> pa.Table:
    picked = pc.equal(pa.array(range(table.num_rows)), row)
    index = table.schema.get_field_index(column)
    values = pc.if_else(picked, pa.scalar(value, table.schema.field(column).type), table[column])
    return table.set_column(index, table.schema.field(column), values)


def rewrite(dirs, table: str, day: str, change) -> None:
    rewrite_day(dirs.warehouse / table, day, change)


def test_every_check_passes_on_a_range_run_with_one_evaluation_per_check_and_day(dirs, resources, instance):
    result = run(resources, instance, tags=RANGE)
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    expected = {(c.table, c.name, day) for c in PER_DAY for day in DAYS} | {("reviews_fact", "fresh", None)}
    assert {(e.asset_key.path[-1], e.check_name, e.partition) for e in evaluations} == expected
    assert all(e.passed for e in evaluations), [e.description for e in evaluations if not e.passed]
    fact = next(e for e in evaluations if e.check_name == "matches_landed_reviews" and e.partition == DAYS[1])
    assert fact.metadata["landed_reviews"].value > 0 and fact.metadata["landed_reviews_missing"].value == 0
    # Recorded per partition in the instance, as the UI shows them.
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [e.asset_check_key for e in evaluations if e.partition == DAYS[0]]
    )
    assert {i.partition_key for i in infos} >= set(DAYS) and {i.latest_execution_status.value for i in infos if i.partition_key} == {"SUCCEEDED"}


def test_each_check_fails_on_its_broken_table(dirs, resources, instance):
    assert run(resources, instance, tags=RANGE).success
    rewrite(dirs, "reviews_fact", broken.DANGLING_USER, lambda t: set_value(t, "reviewer_id", 0, "A_DANGLING"))
    rewrite(dirs, "reviews_fact", broken.RATING_7, lambda t: set_value(t, "rating", 0, 7))
    rewrite(dirs, "reviews_fact", broken.DUPLICATE, lambda t: pa.concat_tables([t, t.slice(0, 1)]))
    rewrite(dirs, "reviews_fact", broken.DELETED, lambda t: t.slice(1))
    rewrite(dirs, "climate", broken.TMAX_BELOW_TMIN, lambda t: set_value(set_value(t, "tmin", 0, 50.0), "tmax", 0, 40.0))
    rewrite(dirs, "climate", broken.UNKNOWN_STATION, lambda t: set_value(t, "station_id", 0, "USW_NOWHERE"))
    outcomes = broken.evaluate(resources)
    broken.assert_faults_found(outcomes)
    assert "reviewer_id=A_DANGLING" in outcomes[("reviews_fact", "references_exist", broken.DANGLING_USER)].metadata["examples"]
    assert "rating=7" in outcomes[("reviews_fact", "ratings_in_range", broken.RATING_7)].metadata["examples"]


@asset(partitions_def=daily_partitions, backfill_policy=BackfillPolicy.single_run(), deps=["reviews_fact"])
def downstream_of_reviews_fact() -> None:
    """Stands for any daily asset reading reviews_fact (a blocking check must stop it)."""


def test_a_failed_blocking_check_stops_the_run_and_the_rating_model_until_the_day_is_mended(dirs, resources, instance):
    assert run(resources, instance, tags=RANGE).success
    delete_day(dirs.warehouse / "datetime", DAYS[1])  # the day's calendar row is gone
    failed = materialize([*all_assets, downstream_of_reviews_fact], resources=resources, instance=instance, partition_key=DAYS[1],
                         selection=["reviews_fact", "downstream_of_reviews_fact"], raise_on_error=False)
    assert not failed.success
    references = next(e for e in failed.get_asset_check_evaluations() if e.check_name == "references_exist")
    assert not references.passed and references.metadata["rows_missing_datetime"].value == references.metadata["rows"].value > 0
    assert instance.get_latest_materialization_event(AssetKey("downstream_of_reviews_fact")) is None
    assert "blocking asset check failed" in str(next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error)

    # The month whose window holds the day is refused by the sensor and by the model's first asset.
    with build_sensor_context(instance=instance) as context:
        refused = model_sensors(ENV_SETTINGS)[0](context)
    assert not refused.run_requests and f"{DAYS[1]} (references_exist)" in refused.skip_reason.skip_message
    assert "month 2018-01 is not trained" in refused.skip_reason.skip_message
    with pytest.raises(Failure, match=rf"month 2018-01 is not trained: .*{DAYS[1]} \(references_exist\)"):
        materialize([*all_assets, *ml_assets], resources=resources | ml_resources("local", str(dirs.root), preset="tiny"),
                    instance=instance, partition_key="2018-01", selection=["rating_tokenizer"])

    # Mended (the calendar day written again, the fact day checked again): the refused month is asked again.
    assert run(resources, instance, partition_key=DAYS[1], selection=["datetime", "reviews_fact"]).success
    with build_sensor_context(instance=instance, cursor=refused.cursor) as context:
        retried = model_sensors(ENV_SETTINGS)[0](context)
    assert [r.partition_key for r in retried.run_requests] == ["2018-01"]


def test_the_stream_job_records_the_checks_of_the_days_it_wrote_and_a_failure_refuses_the_month(dirs, resources, tmp_path, monkeypatch, capsys):
    write_facts = star.reviews_fact

    def losing_the_first_review_of(day: str):
        def reviews_fact(landed, partitions):
            def drop(chunk: pa.Table) -> pa.Table:
                on_day = pc.equal(chunk["review_date"], pa.scalar(day, pa.string()).cast(pa.date32()))
                first = pc.index(on_day, True).as_py()
                return chunk if first < 0 else pa.concat_tables([chunk.slice(0, first), chunk.slice(first + 1)])

            chunks = write_facts(landed, partitions)
            return chunks.map(drop, chunks.schema, chunks.summary)

        return reviews_fact

    monkeypatch.setattr(star, "reviews_fact", losing_the_first_review_of(DAYS[1]))  # a bug in the fact builder
    home = tmp_path / "home"
    home.mkdir()
    create_instance(home)
    with DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        result = stream_job.execute_in_process(instance=instance, resources=resources)
        assert result.success  # recorded, not fatal: the next write of the day mends it
        evaluations = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
        assert {(e.asset_key.path[-1], e.check_name, e.partition) for e in evaluations} == (
            {(c.table, c.name, day) for c in PER_DAY for day in DAYS}
            | {("reviews_fact", "fresh", None), ("stations", "stations_known_and_named_once", None)})
        assert [(e.check_name, e.partition) for e in evaluations if not e.passed] == [("matches_landed_reviews", DAYS[1])]
        assert instance.event_log_storage.get_asset_check_partition_info(
            [e.asset_check_key for e in evaluations if not e.passed], partition_keys=[DAYS[1]]
        )[0].latest_execution_status.value == "FAILED"
        with build_sensor_context(instance=instance) as context:
            refused = model_sensors(ENV_SETTINGS)[0](context)
        assert f"{DAYS[1]} (matches_landed_reviews)" in refused.skip_reason.skip_message and json.loads(refused.cursor)["refused"] == "2018-01"

    # `amzn-assets summary`: from the instance when DAGSTER_HOME is set, else run now over the warehouse.
    for home_set in (True, False):
        if home_set:
            monkeypatch.setenv("DAGSTER_HOME", str(home))
        else:
            monkeypatch.delenv("DAGSTER_HOME")
        assert main(["--data-dir", str(dirs.root), "summary"]) == 0
        out = capsys.readouterr().out
        assert ("from the Dagster instance" in out) == home_set and ("DAGSTER_HOME is not set" in out) != home_set
        for line in (rf"reviews_fact\.matches_landed_reviews +blocking +3 days passed, 1 failed \({DAYS[1]}\)",
                     r"reviews_fact\.ratings_in_range +blocking +4 days passed, 0 failed",
                     r"climate\.tmax_not_below_tmin +error +4 days passed, 0 failed",
                     r"reviews_fact\.fresh +warn +passed"):
            assert re.search(line, out), (line, out)
        assert "1 landed reviews missing from reviews_fact" in out
        assert re.search(r"stations in climate data: \d+, not in the station list: 0 ", out), out


def test_freshness_counts_a_batch_in_once_applied_by_the_stream_or_its_days_written_since():
    landed = datetime(2018, 2, 1, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    after = [LandedBatch("b2", landed, frozenset(DAYS[:2])), LandedBatch("b3", landed + hour, frozenset(DAYS[2:3]))]
    assert reviews_freshness("b1", [], {}, landed).passed  # nothing after the stream's watermark
    assert reviews_freshness("b1", after, dict.fromkeys(DAYS[:3], landed + 2 * hour), landed + 3 * hour).passed
    stale = reviews_freshness("b1", after, {DAYS[0]: landed + 2 * hour, DAYS[1]: landed - hour}, landed + 3 * hour)
    assert not stale.passed and stale.metadata | {"days_waiting_first": ""} == {
        "stream_watermark": "b1", "batches_after_watermark": 2, "batches_waiting": 2, "days_waiting": 2,
        "lag_seconds": 3 * 3600.0, "days_waiting_first": ""}
    assert "2 landed review batches not in reviews_fact yet" in stale.description and DAYS[1] in stale.description
