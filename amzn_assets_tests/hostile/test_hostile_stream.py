"""The stream under a real dagster-daemon with a FIFO, a symlink and a gzip bomb among 1,000
one-review files: every normal review reaches reviews_fact, the three are in quarantine with
their reasons, and no run fails or hangs on them."""

from __future__ import annotations

import re

import pytest
from dagster import DagsterInstance, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef

from amzn_assets.landing.ledger import open_ledger
from amzn_assets.data_dirs import DataDirs
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.daemon import running_daemon, wait_for
from amzn_assets_tests.hostile import corpus
from amzn_assets_tests.hostile.corpus import CATEGORY, gz, review_line

NORMAL = 1000
DAY_SECONDS = 86_400
FIRST_DAY = 1514764800  # 2018-01-01


def reviews_in_fact(dirs: DataDirs) -> int:
    try:
        return run_query(dirs.warehouse, "SELECT count(DISTINCT review_id) FROM reviews_fact").rows[0][0]
    except Exception:  # noqa: BLE001 - not materialized yet
        return 0


@pytest.mark.timeout(300)
def test_the_stream_goes_on_past_a_fifo_a_symlink_and_a_bomb(tmp_path, monkeypatch):
    dirs = DataDirs(tmp_path / "data")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.json").write_bytes(corpus.secret_review())
    home, log = tmp_path / "home", tmp_path / "daemon.log"
    folder = corpus.folder(dirs.root)
    # The hostile ones first in name order: a landing that blocked on them would land nothing.
    bad = {
        corpus.make_fifo(dirs.root, outside): "^a FIFO",
        corpus.make_symlink_to_file(dirs.root, outside): "^a symbolic link",
        corpus.make_bomb(dirs.root, outside): "^a gzip bomb",
    }
    for n in range(NORMAL):
        review = review_line(reviewerID=f"R{n:04d}", asin=f"B{n % 37:09d}", unixReviewTime=FIRST_DAY + (n % 5) * DAY_SECONDS)
        (folder / f"r{n:04d}.json.gz").write_bytes(gz(review))

    with running_daemon(dirs, home, log):
        wait_for(lambda: reviews_in_fact(dirs) >= NORMAL, 240, f"{NORMAL} reviews in reviews_fact", log, home)
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(home)))
        wait_for(lambda: all(r.is_finished for r in instance.get_runs(RunsFilter(job_name="stream_job"))), 120, "runs to finish", log)
        runs = instance.get_runs(RunsFilter(job_name="stream_job"))
        assert runs and all(r.status == DagsterRunStatus.SUCCESS for r in runs)

    assert reviews_in_fact(dirs) == NORMAL
    ledger = open_ledger(dirs)
    quarantined = {q["source"]: q["reason"] for q in ledger.quarantined()}
    assert set(quarantined) == set(bad), quarantined
    assert all(re.search(pattern, quarantined[path]) for path, pattern in bad.items()), quarantined
    assert ledger.file_status_counts() == {"landed": NORMAL, "quarantined": 3}
    assert not any(p.exists() or p.is_symlink() for p in folder.iterdir())
