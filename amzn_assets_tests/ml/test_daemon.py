"""The model trains by itself under a real dagster-daemon: All Beauty reviews of May and June 2018
streamed through the upload area, in review-time order, with every sensor on. The warehouse
sensors land them and materialize the days that received reviews; rating_model_sensor sees
reviews_fact move into June and trains 2018-05 (tiny preset, a 1-month window whose days without
reviews were never materialized and read as empty); 2018-04, which has no reviews_fact day, is
not requested."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from amzn_assets.settings import DataDirs
from amzn_assets.stream.split import file_name, gz
from amzn_assets.stream.upload import upload_files
from amzn_assets.warehouse.query import run_query
from amzn_assets_tests.daemon import REPO, running_daemon, wait_for
from amzn_assets_tests.needs import require_module

require_module("tensorflow")
require_module("sentencepiece")
require_module("sklearn")

FIXTURES = REPO / "amzn_assets_tests" / "fixtures"
CATEGORY = "all_beauty"
STREAM = ("2018-05-01", "2018-06-30")  # 108 reviews on 13 days: ~8 warehouse runs, one per run of consecutive days
MONTH = "2018-05"


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


@pytest.mark.timeout(480)
def test_daemon_trains_the_month_the_stream_moved_past(tmp_path, monkeypatch):
    dirs = DataDirs(tmp_path / "data")
    home, log = tmp_path / "home", tmp_path / "daemon.log"
    source = tmp_path / "split"
    files = stage_stream(source)
    tiny_model = {"AMZN_MODEL_SENSOR_RUNNING": "1", "AMZN_MODEL_PRESET": "tiny", "AMZN_MODEL_WINDOW_MONTHS": "1"}
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

        wait_for(may_trained, 360, f"a finished rating_model_job run for {MONTH}", log)
        wait_for(lambda: all(r.is_finished for r in instance.get_runs()), 120, "every run to finish", log)

    runs = model_runs()
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
