"""The model trains by itself under a real dagster-daemon: All Beauty reviews of May and June 2018
streamed through the upload area, in review-time order, with every sensor on. The warehouse
sensors land them and materialize the days that received reviews; rating_model_sensor sees
reviews_fact move into June and trains 2018-05 (tiny preset, a 1-month window whose days without
reviews were never materialized and read as empty); 2018-04, which has no reviews_fact day, is
not requested.

Then the model's predictions follow the data (rating_predictions_automation, declarative automation):
none while May's model has not passed its blocking check; once it passes (its stored evaluation made to
pass and the check run again: this test is about the automation, not the tiny model's quality) every
reviews_fact day is scored, and a review streamed later for a new day is scored by itself. Meanwhile
the stalled stream turns reviews_fact's Dagster freshness state to FAIL (a 1-minute policy, evaluated
by the daemon without any run), and the new day turns it back to PASS."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, AssetSelection, DagsterInstance, DagsterRunStatus, Definitions, RunsFilter, define_asset_job
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.instance.ref import InstanceRef

from amzn_assets.data_dirs import DataDirs
from amzn_assets.upload_simulator.split import file_name, gz
from amzn_assets.upload_simulator.upload import upload_files
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.daemon import REPO, running_daemon, wait_for
from amzn_assets_tests.needs import require_module

require_module("tensorflow")
require_module("sentencepiece")
require_module("sklearn")

FIXTURES = REPO / "amzn_assets_tests" / "fixtures"
CATEGORY = "all_beauty"
STREAM = ("2018-05-01", "2018-06-30")  # 108 reviews on 13 days: ~8 warehouse runs, one per run of consecutive days
MONTH = "2018-05"
GATE = AssetCheckKey(AssetKey("rating_model_evaluation"), "rating_model_beats_baselines")
PREDICTIONS, FACT = AssetKey("rating_predictions"), AssetKey("reviews_fact")


def stage_stream(source: Path) -> int:
    """One-review files of the excerpt's reviews in STREAM, named in review-time order (the uploader
    sends files in name order)."""
    lines = []
    with gzip.open(FIXTURES / "All_Beauty_5.json.gz", "rt") as dump:
        for line in dump:
            review = json.loads(line)
            day = datetime.fromtimestamp(review["unixReviewTime"], UTC).date().isoformat()
            if STREAM[0] <= day <= STREAM[1]:
                lines.append((review["unixReviewTime"], line))
    folder = source / CATEGORY
    folder.mkdir(parents=True)
    for number, (_, line) in enumerate(sorted(lines, key=lambda pair: pair[0]), start=1):
        (folder / file_name(CATEGORY, number)).write_bytes(gz(line.encode()))
    return len(lines)


@pytest.mark.timeout(900)
def test_daemon_trains_the_month_the_stream_moved_past(tmp_path, monkeypatch):
    dirs = DataDirs(tmp_path / "data")
    home, log = tmp_path / "home", tmp_path / "daemon.log"
    source = tmp_path / "split"
    files = stage_stream(source)
    tiny_model = {"AMZN_MODEL_SENSOR_RUNNING": "1", "AMZN_MODEL_PRESET": "tiny", "AMZN_MODEL_WINDOW_MONTHS": "1",
                  "AMZN_STREAM_FRESHNESS_MINUTES": "1", "FRESHNESS_DAEMON_INTERVAL_SECONDS": "1"}
    with running_daemon(dirs, home, log, **tiny_model):
        sent = upload_files([CATEGORY], source_dir=source, target=dirs.uploaded, rate=None, progress=False)
        assert sent.uploaded == files

        monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))

        def model_runs():
            return instance.get_runs(RunsFilter(job_name="rating_model_job"))

        def may_trained() -> bool:
            # finished: SUCCESS, or FAILURE by the blocking rating_model_beats_baselines check (the
            # tiny model on one month may not beat both baselines; the check runs after the evaluation)
            return any(r.tags.get("dagster/partition") == MONTH and r.is_finished for r in model_runs())

        wait_for(may_trained, 360, f"a finished rating_model_job run for {MONTH}", log, home)
        wait_for(lambda: all(r.is_finished for r in instance.get_runs()), 120, "every run to finish", log, home)
        predictions_follow_the_data(instance, dirs, source, log)

    runs = model_runs()
    assert len(instance.get_runs(RunsFilter(job_name="stream_job"))) >= 2
    assert all(r.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE) for r in runs), [(r.tags.get("dagster/partition"), r.status) for r in runs]
    assert all(r.tags.get("dagster/sensor_name") == "rating_model_sensor" for r in runs)
    # June closes May, once; the first May day closed April, which has no reviews_fact day: skipped.
    assert [r.tags["dagster/partition"] for r in runs] == [MONTH]

    evaluation = instance.get_latest_materialization_event(AssetKey("rating_model_evaluation")).asset_materialization
    assert evaluation.partition == MONTH
    window = run_query(
        dirs.warehouse,
        "SELECT count(*), count(DISTINCT review_date) FROM reviews_fact WHERE review_date BETWEEN DATE '2018-05-01' AND DATE '2018-05-31'",
    ).rows[0]
    assert window[1] < 31, "every day of the window had reviews: the missing-day path was not exercised"
    assert evaluation.metadata["window_reviews"].value == window[0] >= evaluation.metadata["test_reviews"].value
    assert (dirs.root / "models" / "rating_model" / MONTH / "model.keras").is_file()


def freshness(instance, key: AssetKey):
    record = instance.get_freshness_state_records([key]).get(key)
    return record.freshness_state if record else None


def predicted_days(instance) -> set[str]:
    return set(instance.get_materialized_partitions(PREDICTIONS))


def predictions_follow_the_data(instance, dirs: DataDirs, source: Path, log: Path) -> None:
    from amzn_assets_tests.deployment import all_assets, resources_for
    from amzn_assets.domains.rating_model import ml_resources
    from amzn_assets_tests.deployment import ml_asset_checks, ml_assets
    from amzn_assets_tests.celery.test_celery import pass_the_model_check

    [gate] = [i for i in instance.event_log_storage.get_asset_check_partition_info([GATE]) if i.partition_key == MONTH]
    if gate.latest_execution_status.value == "FAILED":  # the tiny model lost to a baseline: nothing scored
        assert not instance.get_runs(RunsFilter(job_name="__ASSET_JOB", tags={"dagster/from_automation_condition": "true"}))
        assert predicted_days(instance) == set()
    # The stream stalled while May trained: reviews_fact fails its 1-minute freshness policy, with no run.
    # (FAIL also says the stream is over: no reviews_fact day for a minute, so fact_days below is final.)
    wait_for(lambda: freshness(instance, FACT) == FreshnessState.FAIL, 180, "reviews_fact freshness FAIL", log)

    # May's model made to pass its blocking check (the check run again on the daemon's instance).
    pass_the_model_check(dirs.root / "models" / "rating_model_evaluation" / MONTH / "metrics.json")
    check_job = define_asset_job("gate_only", selection=AssetSelection.checks(*ml_asset_checks), partitions_def=ml_assets[0].partitions_def)
    resources = resources_for("local", str(dirs.root)) | ml_resources("local", str(dirs.root), preset="tiny")
    job = Definitions(assets=[*all_assets, *ml_assets], asset_checks=ml_asset_checks, jobs=[check_job], resources=resources).resolve_job_def("gate_only")
    assert job.execute_in_process(instance=instance, tags={"dagster/partition": MONTH}).success

    fact_days = set(instance.get_materialized_partitions(FACT))
    wait_for(lambda: predicted_days(instance) >= fact_days, 180, f"predictions of the {len(fact_days)} reviews_fact days", log)

    # A review of a new day (a June day without reviews) streamed now: reviews_fact, then its
    # predictions, with nobody asking.
    new_day = min(f"2018-06-{d:02}" for d in range(1, 31) if f"2018-06-{d:02}" not in fact_days)
    with gzip.open(FIXTURES / "All_Beauty_5.json.gz", "rt") as dump:
        review = json.loads(next(dump))
    review |= {"unixReviewTime": int(datetime.fromisoformat(new_day + "T12:00:00+00:00").timestamp()), "reviewText": "Streamed later: lovely."}
    late = source / "late"
    (late / CATEGORY).mkdir(parents=True)
    (late / CATEGORY / file_name(CATEGORY, 1)).write_bytes(gz(json.dumps(review).encode()))
    assert upload_files([CATEGORY], source_dir=late, target=dirs.uploaded, rate=None, progress=False).uploaded == 1
    wait_for(lambda: new_day in predicted_days(instance), 180, f"predictions of {new_day}", log)
    wait_for(lambda: freshness(instance, FACT) == FreshnessState.PASS, 30, "reviews_fact freshness PASS again", log)

    # A run's materialization is recorded before the run ends: read the runs' statuses once they have.
    made = instance.fetch_materializations(PREDICTIONS, limit=1000).records
    run_ids = {r.run_id for r in made}
    wait_for(lambda: all(instance.get_run_by_id(i).is_finished for i in run_ids), 60, "the prediction runs to finish", log)
    runs = {i: instance.get_run_by_id(i) for i in run_ids}
    assert all(run.tags.get("dagster/from_automation_condition") == "true" or "dagster/backfill" in run.tags for run in runs.values()), [r.tags for r in runs.values()]
    assert all(r.status == DagsterRunStatus.SUCCESS for r in runs.values()), [(r.run_id, r.status) for r in runs.values()]
    newest = instance.get_latest_materialization_event(PREDICTIONS).asset_materialization
    assert newest.partition == new_day and newest.metadata["model_partition"].value == MONTH and newest.metadata["rows"].value == 1
