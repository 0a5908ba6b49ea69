"""The sensors evaluated in-process: cursors, run keys, repeated ticks, files arriving mid-landing."""

from __future__ import annotations

import json
import shutil

import pytest
from dagster import DagsterInstance, SkipReason, build_sensor_context

from amzn_assets.definitions import resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.sensors import land_uploads_job, landed_partitions_sensor, upload_sensor
from amzn_assets.sensors.planning import contiguous_ranges
from amzn_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_REVIEWS, gz_review, upload

ALL_DAYS = [f"2018-01-{d:02d}" for d in range(1, SAMPLE_DAYS + 1)]


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def tick(sensor, dirs, instance, cursor=None):
    with build_sensor_context(
        instance=instance, cursor=cursor, resources=resources_for("local", str(dirs.root))
    ) as context:
        return sensor(context)


def test_contiguous_ranges():
    days = ["2018-01-03", "2018-01-01", "2018-01-02", "2018-01-07", "2018-12-31", "2019-01-01"]
    assert contiguous_ranges(days) == [
        ("2018-01-01", "2018-01-03"),
        ("2018-01-07", "2018-01-07"),
        ("2018-12-31", "2019-01-01"),
    ]


def test_upload_sensor_requests_one_landing_run_and_a_repeated_tick_is_harmless(dirs, sample, instance):
    first = tick(upload_sensor, dirs, instance)
    assert len(first.run_requests) == 1
    key = first.run_requests[0].run_key
    cursor = json.loads(first.cursor)
    assert cursor["run_key"] == key and first.run_requests[0].tags["amzn/files"] == str(SAMPLE_REVIEWS + 6)
    # The same tick again (its result lost) and the next tick before the run exists: same key.
    assert tick(upload_sensor, dirs, instance).run_requests[0].run_key == key
    assert tick(upload_sensor, dirs, instance, first.cursor).run_requests[0].run_key == key


def test_upload_sensor_skips_an_empty_upload_area(dirs, instance):
    assert isinstance(tick(upload_sensor, dirs, instance), SkipReason)


def test_landing_job_then_landed_sensor_plans_exactly_the_fed_days(dirs, sample, instance):
    result = land_uploads_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
    assert result.success
    assert isinstance(tick(upload_sensor, dirs, instance), SkipReason)

    planned = tick(landed_partitions_sensor, dirs, instance)
    groups = {r.run_key.split(":")[0]: r for r in planned.run_requests}
    # Metadata landed with the reviews: the review and climate runs cover products and stations.
    assert sorted(groups) == ["climate", "reviews"]
    for request in planned.run_requests:  # every group spans the whole sample in one range
        assert request.tags["dagster/asset_partition_range_start"] == ALL_DAYS[0]
        assert request.tags["dagster/asset_partition_range_end"] == ALL_DAYS[-1]
    assert sorted(k.to_user_string() for k in groups["reviews"].asset_selection) == sorted(
        ["landed_reviews", "users", "products", "datetime", "reviews_fact"]
    )
    assert all(r.tags["amzn/serial"] == "warehouse" for r in planned.run_requests)
    # Repeating the tick from the same cursor plans the same runs (same keys: Dagster skips them).
    again = tick(landed_partitions_sensor, dirs, instance)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in planned.run_requests]
    assert isinstance(tick(landed_partitions_sensor, dirs, instance, planned.cursor), SkipReason)

    # One new review for one day: exactly that day of the review assets, nothing else.
    upload(dirs, "reviews/toys/late.json.gz", gz_review(unixReviewTime=1514937600))  # 2018-01-03
    Lander(dirs).land_pending()
    later = tick(landed_partitions_sensor, dirs, instance, planned.cursor)
    assert [(r.run_key.split(":")[0], r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"]) for r in later.run_requests] == [
        ("reviews", "2018-01-03", "2018-01-03")
    ]


def test_new_product_metadata_re_runs_products_for_the_days_it_was_reviewed(dirs, instance):
    upload(dirs, "reviews/toys/a.json.gz", gz_review(asin="B000NEWMETA", unixReviewTime=1514851200))  # 01-02
    upload(dirs, "reviews/toys/b.json.gz", gz_review(asin="B000NEWMETA", reviewerID="A2", unixReviewTime=1515110400))  # 01-05
    Lander(dirs).land_pending()
    cursor = tick(landed_partitions_sensor, dirs, instance).cursor
    upload(dirs, "metadata/products/late.json", b'{"asin": "B000NEWMETA", "title": "Late metadata"}\n')
    Lander(dirs).land_pending()
    requests = tick(landed_partitions_sensor, dirs, instance, cursor).run_requests
    assert [(r.run_key.split(":")[0], r.tags["dagster/asset_partition_range_start"], [k.to_user_string() for k in r.asset_selection]) for r in requests] == [
        ("products", "2018-01-02", ["products"]),
        ("products", "2018-01-05", ["products"]),
    ]


def test_files_arriving_while_a_batch_lands_wait_for_the_next_landing(dirs, sample):
    arrived = []

    def upload_during_landing(stage: str) -> None:
        # After the review batch was listed and written: these files are not part of it.
        if stage == "segments_written" and (dirs.landed / "reviews").exists() and not arrived:
            for i in range(5):
                upload(dirs, f"reviews/toys/mid-{i}.json.gz", gz_review(reviewerID=f"AMID{i}"))
            arrived.append(True)

    first = Lander(dirs, on_stage=upload_during_landing).land_pending()
    assert arrived and first.files_landed == SAMPLE_REVIEWS + 6
    assert len(list((dirs.uploaded / "reviews" / "toys").glob("*.json.gz"))) == 5
    second = Lander(dirs).land_pending()
    assert second.files_landed == 5
    lander = Lander(dirs)
    rows, duplicates = LandedReader(lander.ledger, lander.segments).reviews(ALL_DAYS)
    assert (rows.num_rows, duplicates) == (SAMPLE_REVIEWS + 5, 0)


def test_a_landing_run_that_crashed_is_completed_by_the_retry(dirs, sample, instance):
    class Crash(RuntimeError):
        pass

    def crash(stage: str) -> None:
        if stage == "segments_written":
            raise Crash(stage)

    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash).land_pending()
    retry = land_uploads_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
    assert retry.success
    lander = Lander(dirs)
    rows, duplicates = LandedReader(lander.ledger, lander.segments).reviews(ALL_DAYS)
    assert (rows.num_rows, duplicates) == (SAMPLE_REVIEWS, 0)
    assert not any(p.is_file() for p in dirs.uploaded.rglob("*"))


def test_the_same_file_uploaded_twice_lands_once(dirs, instance):
    upload(dirs, "reviews/toys/one.json.gz", gz_review())
    land_uploads_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
    shutil.copy(dirs.raw / "reviews/toys/one.json.gz", dirs.uploaded / "reviews/toys/one-again.json.gz")
    land_uploads_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
    lander = Lander(dirs)
    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(["2018-01-02"])
    assert rows.num_rows == 1
    assert lander.ledger.file_status_counts() == {"landed": 1, "duplicate": 1}
