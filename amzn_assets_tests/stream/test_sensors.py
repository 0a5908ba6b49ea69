"""stream_sensor and stream_job in-process: run keys, repeated ticks, exactly the days fed,
per-day materializations, scattered days in one run, files arriving mid-landing, crashes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time

import psutil
import pytest
from dagster import AssetKey, DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus, SkipReason, build_sensor_context
from dagster._core.test_utils import create_run_for_test

from amzn_assets_tests.deployment import ENV_SETTINGS, resources_for
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.domains.stream import sensor as stream_sensor_module
from amzn_assets.domains.stream.job import WORKER_TAG, stream_job
from amzn_assets.domains.stream.sensor import stream_sensor
from amzn_assets.stream.liveness import worker_id, worker_is_gone
from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_REVIEWS, gz_review, upload

ALL_DAYS = [f"2018-01-{d:02d}" for d in range(1, SAMPLE_DAYS + 1)]
REVIEW_TABLES = ["landed_reviews", "users", "products", "datetime", "reviews_fact"]


@pytest.fixture
def instance():
    with DagsterInstance.ephemeral() as inst:
        yield inst


def tick(dirs, instance):
    with build_sensor_context(instance=instance, resources=resources_for("local", str(dirs.root))) as context:
        return stream_sensor(ENV_SETTINGS)(context)


def stream(dirs, instance):
    result = stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)))
    assert result.success
    return result


def materialized(instance, asset: str) -> set[str]:
    return set(instance.get_materialized_partitions(AssetKey(asset)))


def materializations_of(result, asset: str) -> list[str]:
    return sorted(
        e.event_specific_data.materialization.partition
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == AssetKey(asset)
    )


def test_the_sensor_requests_one_run_and_a_repeated_tick_gives_the_same_key(dirs, sample, instance):
    first = tick(dirs, instance)
    assert first.run_key.startswith("stream-") and first.tags["amzn/files_waiting"] == str(SAMPLE_REVIEWS + 6)
    assert tick(dirs, instance).run_key == first.run_key


def test_the_sensor_skips_when_nothing_waits(dirs, instance):
    assert isinstance(tick(dirs, instance), SkipReason)


def test_a_stream_run_lands_and_materializes_exactly_the_days_fed_with_per_day_events(dirs, sample, instance):
    result = stream(dirs, instance)
    assert isinstance(tick(dirs, instance), SkipReason)  # nothing waits any more
    for table in REVIEW_TABLES + ["landed_climate", "stations", "climate"]:
        assert materialized(instance, table) == set(ALL_DAYS), table
    # One event per asset and day, each carrying that day's own row count.
    assert materializations_of(result, "reviews_fact") == ALL_DAYS
    per_day = {
        e.event_specific_data.materialization.partition: e.event_specific_data.materialization.metadata["dagster/row_count"].value
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION" and e.asset_key == AssetKey("reviews_fact")
    }
    by_query = dict(run_query(dirs.warehouse, "SELECT CAST(review_date AS VARCHAR), count(*) FROM reviews_fact GROUP BY 1").rows)
    assert per_day == by_query and sum(per_day.values()) == SAMPLE_REVIEWS

    # One new review for one day: the next run writes exactly that day of the review tables.
    upload(dirs, "reviews/toys/late.json.gz", gz_review(unixReviewTime=1514937600))  # 2018-01-03
    assert not isinstance(tick(dirs, instance), SkipReason)
    later = stream(dirs, instance)
    for table in REVIEW_TABLES:
        assert materializations_of(later, table) == ["2018-01-03"], table
    assert materializations_of(later, "climate") == []
    assert run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0] == SAMPLE_REVIEWS + 1


def test_scattered_days_over_years_take_one_run_and_only_their_days(dirs, instance):
    days = ["2009-03-14", "2011-07-01", "2011-07-02", "2014-12-31", "2018-01-02"]
    for i, day in enumerate(days):
        ts = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.timezone.utc).timestamp())
        upload(dirs, f"reviews/toys/r{i}.json.gz", gz_review(reviewerID=f"A{i}", unixReviewTime=ts))
    result = stream(dirs, instance)
    assert materializations_of(result, "reviews_fact") == days  # not the 3,000 days between them
    assert materialized(instance, "users") == set(days)
    assert run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0] == len(days)
    assert Lander(dirs).ledger.applied_through(STREAM_WATERMARK) is not None


def test_new_product_metadata_re_materializes_products_for_the_days_it_was_reviewed(dirs, instance):
    upload(dirs, "reviews/toys/a.json.gz", gz_review(asin="B000NEWMETA", unixReviewTime=1514851200))  # 01-02
    upload(dirs, "reviews/toys/b.json.gz", gz_review(asin="B000NEWMETA", reviewerID="A2", unixReviewTime=1515110400))  # 01-05
    stream(dirs, instance)
    upload(dirs, "metadata/products/late.json", b'{"asin": "B000NEWMETA", "title": "Late metadata"}\n')
    result = stream(dirs, instance)
    assert materializations_of(result, "products") == ["2018-01-02", "2018-01-05"]
    assert materializations_of(result, "reviews_fact") == []
    titles = run_query(dirs.warehouse, "SELECT DISTINCT title FROM products WHERE asin = 'B000NEWMETA'").rows
    assert titles == [("Late metadata",)]


def test_batches_landed_outside_dagster_are_materialized_by_the_next_run(dirs, sample, instance):
    Lander(dirs).land_pending()  # `amzn-assets land`
    assert not isinstance(tick(dirs, instance), SkipReason)  # nothing in the upload area, but unapplied batches
    result = stream(dirs, instance)
    assert materializations_of(result, "reviews_fact") == ALL_DAYS
    assert isinstance(tick(dirs, instance), SkipReason)


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


def test_a_landing_that_crashed_is_completed_by_the_next_run(dirs, sample, instance):
    class Crash(RuntimeError):
        pass

    def crash(stage: str) -> None:
        if stage == "segments_written":
            raise Crash(stage)

    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash).land_pending()
    stream(dirs, instance)
    assert run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0] == SAMPLE_REVIEWS
    assert not any(p.is_file() for p in dirs.uploaded.rglob("*"))


def test_a_run_that_crashed_while_materializing_is_redone_by_the_next(dirs, sample, instance, monkeypatch):
    from amzn_assets.backends.local.io_manager import PartitionedParquetIOManager

    original = PartitionedParquetIOManager.write_partitions

    def crash_on_the_fact(self, name, *args, **kwargs):
        if name == "reviews_fact":
            raise RuntimeError("killed while writing reviews_fact")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(PartitionedParquetIOManager, "write_partitions", crash_on_the_fact)
    failed = stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root)), raise_on_error=False)
    assert not failed.success
    assert Lander(dirs).ledger.applied_through(STREAM_WATERMARK) is None  # the watermark did not move
    monkeypatch.undo()
    stream(dirs, instance)
    assert run_query(dirs.warehouse, "SELECT count(*) FROM reviews_fact").rows[0][0] == SAMPLE_REVIEWS


def test_the_same_file_uploaded_twice_lands_once(dirs, instance):
    upload(dirs, "reviews/toys/one.json.gz", gz_review())
    stream(dirs, instance)
    (dirs.uploaded / "reviews/toys/one-again.json.gz").write_bytes(gz_review())
    stream(dirs, instance)
    lander = Lander(dirs)
    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(["2018-01-02"])
    assert rows.num_rows == 1
    assert lander.ledger.file_status_counts() == {"landed": 1, "duplicate": 1}


def test_a_stream_run_whose_worker_was_killed_is_failed_by_the_next_tick(dirs, sample, instance):
    """A killed daemon (or machine) leaves its run STARTED forever, holding the amzn/serial slot:
    the sensor fails it when its worker process is gone, and leaves a live one alone."""
    finished = subprocess.Popen(["sleep", "0"])
    gone = worker_id(finished.pid)
    finished.wait()
    dead = create_run_for_test(instance, job_name="stream_job", status=DagsterRunStatus.STARTED, tags={WORKER_TAG: gone})
    alive = create_run_for_test(instance, job_name="stream_job", status=DagsterRunStatus.STARTED, tags={WORKER_TAG: worker_id()})
    tick(dirs, instance)
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED


def test_a_zombie_worker_is_gone(tmp_path):
    """A worker killed with its daemon is reparented; where init does not reap it, it stays a
    zombie whose start time psutil still reads: it must count as gone, or its run holds the
    amzn/serial slot forever."""
    child = subprocess.Popen(["sleep", "0.2"])
    worker = worker_id(child.pid)
    assert not worker_is_gone(worker)
    deadline = time.monotonic() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # exited, not yet reaped
        assert time.monotonic() < deadline
        time.sleep(0.05)
    try:
        assert worker_is_gone(worker)
    finally:
        child.wait()


def test_a_run_created_but_never_submitted_neither_blocks_nor_stays(dirs, sample, instance, monkeypatch):
    """A daemon killed between creating a tick's run and submitting it leaves it NOT_STARTED, which
    nothing else starts or ends: a young one does not hold the stream back (were its key requested
    again, Dagster would submit it), an old one is canceled and the next key moves past it."""
    before = tick(dirs, instance).run_key
    orphan = create_run_for_test(instance, job_name="stream_job", status=DagsterRunStatus.NOT_STARTED, tags={"dagster/sensor_name": "stream_sensor"})
    assert tick(dirs, instance).run_key == before
    assert instance.get_run_by_id(orphan.run_id).status == DagsterRunStatus.NOT_STARTED

    monkeypatch.setattr(stream_sensor_module, "UNSUBMITTED_GRACE_S", -1)
    after = tick(dirs, instance)
    assert instance.get_run_by_id(orphan.run_id).status == DagsterRunStatus.CANCELED
    assert after.run_key != before and after.run_key.endswith(orphan.run_id)


def test_after_failed_runs_the_sensor_waits_longer_each_time_then_moves_the_key(dirs, sample, instance, monkeypatch):
    """Dagster never starts a run key twice: after a failure the key includes the failed run, so the
    stream goes on by itself; the wait before it doubles with each failure in a row."""
    before = tick(dirs, instance).run_key
    failed = []
    for _ in range(3):
        run = create_run_for_test(instance, job_name="stream_job", status=DagsterRunStatus.STARTED)
        instance.report_run_failed(run, "the database was down")
        failed.append(run)
    waiting = tick(dirs, instance)
    assert isinstance(waiting, SkipReason) and "failed" in waiting.skip_message
    assert 90 <= stream_sensor_module.retry_wait_s(instance) <= 120  # 30 s, doubled twice, less the time since

    monkeypatch.setattr(stream_sensor_module, "RETRY_AFTER_S", 0)
    again = tick(dirs, instance)
    assert again.run_key != before and again.run_key.endswith(failed[-1].run_id)
    assert tick(dirs, instance).run_key == again.run_key  # a repeated tick still starts nothing twice

    stream(dirs, instance)  # a success: no wait is left
    assert stream_sensor_module.retry_wait_s(instance) == 0


def test_a_run_killed_before_it_tagged_its_worker_is_failed_by_the_process_that_started_it(dirs, sample, instance, monkeypatch):
    """Killed between RUN_START and its worker tag: the sensor judges the process that logged
    RUN_START (after a grace a live run tags itself within); a live one is left alone."""
    def started_by(pid: int):
        run = create_run_for_test(instance, job_name="stream_job", status=DagsterRunStatus.STARTED)
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, "stream_job", pid=pid), run.run_id)
        return run

    finished = subprocess.Popen(["sleep", "0"])
    finished.wait()
    dead, alive = started_by(finished.pid), started_by(os.getpid())
    tick(dirs, instance)  # within the grace: neither is judged
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.STARTED

    monkeypatch.setattr(stream_sensor_module, "UNTAGGED_GRACE_S", -1)
    tick(dirs, instance)
    assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
