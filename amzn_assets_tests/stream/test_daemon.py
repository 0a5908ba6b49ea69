"""End to end under a real dagster-daemon: a real category streamed one review per file, with its
real review times spread over years, reaches reviews_fact whole, each distinct review exactly once,
in a handful of runs."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from amzn_assets.data_dirs import DataDirs
from amzn_assets.upload_simulator.split import file_name, gz
from amzn_assets.upload_simulator.upload import upload_files
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.daemon import REPO, running_daemon, wait_for

FIXTURES = REPO / "amzn_assets_tests" / "fixtures"
CATEGORY = "all_beauty"
EVERY = 6  # every 6th review of the real excerpt: ~880 reviews on ~600 days from 2004 to 2018
MAX_RUNS = 10


def identity(review: dict) -> tuple:
    """The review-identity rule (docs/data-model.md), computed independently of the pipeline."""
    style = json.dumps({k.strip().rstrip(":").strip(): v.strip() if isinstance(v, str) else v for k, v in review["style"].items()}, sort_keys=True) if review.get("style") else None
    return (review["reviewerID"], review["asin"], review["unixReviewTime"], style, review["overall"], review.get("summary"), review.get("reviewText"))


def stage_slice(source) -> tuple[int, set[str]]:
    """One-review files of every EVERY-th review; returns (distinct reviews, their days)."""
    folder = source / CATEGORY
    folder.mkdir(parents=True)
    distinct, days = set(), set()
    with gzip.open(FIXTURES / "All_Beauty_5.json.gz", "rt") as dump:
        for number, line in enumerate(dump, start=1):
            if number % EVERY:
                continue
            review = json.loads(line)
            distinct.add(identity(review))
            days.add(datetime.fromtimestamp(review["unixReviewTime"], UTC).date().isoformat())
            (folder / file_name(CATEGORY, number)).write_bytes(gz(line.encode()))
    return len(distinct), days


def fact_counts(dirs: DataDirs) -> tuple[int, int]:
    try:
        return run_query(dirs.warehouse, "SELECT count(*), count(DISTINCT review_id) FROM reviews_fact").rows[0]
    except Exception:  # noqa: BLE001 - not materialized yet
        return 0, 0


@pytest.mark.timeout(420)
def test_daemon_streams_a_real_category_over_years_in_a_few_runs(tmp_path, monkeypatch):
    dirs = DataDirs(tmp_path / "data")
    home, log = tmp_path / "home", tmp_path / "daemon.log"
    expected, days = stage_slice(tmp_path / "split")
    assert len(days) > 300 and min(days) < "2008" and max(days) >= "2018"

    with running_daemon(dirs, home, log):
        sent = upload_files([CATEGORY], source_dir=tmp_path / "split", target=dirs.uploaded, rate="6000/s", progress=False)
        assert sent.uploaded > expected - 10
        wait_for(lambda: fact_counts(dirs)[0] >= expected, 300, f"{expected} distinct reviews in reviews_fact", log, home)

        monkeypatch.setenv("DAGSTER_HOME", str(home))  # dagster.yaml reads it
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        runs = instance.get_runs(RunsFilter(job_name="stream_job"))
        wait_for(lambda: all(r.is_finished for r in instance.get_runs(RunsFilter(job_name="stream_job"))), 120, "runs to finish", log, home)
        runs = instance.get_runs(RunsFilter(job_name="stream_job"))
        assert all(r.status == DagsterRunStatus.SUCCESS for r in runs)
        assert fact_counts(dirs) == (expected, expected)  # every distinct review, exactly once
        assert len(runs) <= MAX_RUNS, f"{len(runs)} runs for {len(days)} scattered days"
        # The UI's per-day partition status: exactly the days with reviews are materialized.
        assert set(instance.get_materialized_partitions(AssetKey("reviews_fact"))) == days
        assert not any(p.is_file() for p in dirs.uploaded.rglob("*"))
