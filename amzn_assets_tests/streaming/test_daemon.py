"""End to end under a real dagster-daemon: uploads in, every review in reviews_fact exactly once."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from amzn_assets.generate import generate_sample
from amzn_assets.settings import DataDirs
from amzn_assets.stream.upload import upload_files
from amzn_assets.warehouse.query import run_query
from amzn_assets_tests.daemon import running_daemon, wait_for

KEY = "asin, reviewer_id, review_time"


def stage_sample(root: Path, source: Path, *, seed: int, start: date, days: int, reviews: int) -> None:
    """Generate a sample, keep its review files in <source>/<category>/ for the uploader."""
    generate_sample(root, seed=seed, start=start, days=days, reviews=reviews, stations=2)
    for folder in (root / "uploaded" / "reviews").iterdir():
        shutil.copytree(folder, source / folder.name, dirs_exist_ok=True)
    shutil.rmtree(root / "uploaded" / "reviews")


def fact_counts(dirs: DataDirs) -> tuple[int, int]:
    try:
        rows = run_query(dirs.warehouse, f"SELECT count(*), count(DISTINCT ({KEY})) FROM reviews_fact").rows
    except Exception:  # noqa: BLE001 - not materialized yet
        return 0, 0
    return rows[0]


def warehouse_runs(instance: DagsterInstance):
    return instance.get_runs(RunsFilter(tags={"amzn/serial": "warehouse"}))


@pytest.mark.timeout(420)
def test_daemon_streams_uploads_into_reviews_fact_exactly_once(tmp_path, monkeypatch):
    dirs = DataDirs(tmp_path / "data")
    home = tmp_path / "home"
    source = tmp_path / "split"
    stage_sample(dirs.root, source, seed=11, start=date(2018, 3, 1), days=4, reviews=300)

    with running_daemon(dirs, home, tmp_path / "daemon.log"):
        first = upload_files(["all_beauty", "appliances"], source_dir=source, target=dirs.uploaded, rate="600/s", progress=False)
        assert first.uploaded == 300
        wait_for(lambda: fact_counts(dirs) == (300, 300), 240, "the first 300 reviews in reviews_fact")
        wait_for(lambda: not any(p.is_file() for p in dirs.uploaded.rglob("*")), 30, "an empty upload area")

        monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        wait_for(
            lambda: all(r.status == DagsterRunStatus.SUCCESS for r in warehouse_runs(instance)), 120, "runs to finish"
        )
        before = {r.run_id for r in warehouse_runs(instance)}

        # More reviews, on two later days only.
        stage_sample(tmp_path / "more", source, seed=12, start=date(2018, 3, 10), days=2, reviews=60)
        second = upload_files(["all_beauty", "appliances"], source_dir=source, target=dirs.uploaded, progress=False)
        assert second.uploaded == 60
        wait_for(lambda: fact_counts(dirs) == (360, 360), 180, "all 360 reviews in reviews_fact")
        wait_for(
            lambda: all(r.status == DagsterRunStatus.SUCCESS for r in warehouse_runs(instance)), 120, "runs to finish"
        )
        new_runs = [r for r in warehouse_runs(instance) if r.run_id not in before]
        review_runs = [r for r in new_runs if r.tags.get("dagster/sensor_name") == "landed_partitions_sensor" and "reviews_fact" in str(r.asset_selection)]
        assert review_runs, "the second upload should have started review runs"
        for run in review_runs:
            assert run.tags["dagster/asset_partition_range_start"] >= "2018-03-10", "an old partition re-ran"
        days = run_query(dirs.warehouse, "SELECT count(DISTINCT review_date) FROM reviews_fact").rows[0][0]
        assert days == 6
