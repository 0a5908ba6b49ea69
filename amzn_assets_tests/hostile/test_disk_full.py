"""Disk full (issue 19, item 5): a landing or a partition write that meets ENOSPC fails cleanly, and
the run after space is freed lands or writes everything exactly once.

Each test puts the data directory on a tmpfs of its own (root can mount one; a failed mount fails the
test), lands or materializes until the disk is filled at one step of the protocol by a filler file
(fallocate), checks what the failure left (a clear error, no temporary file, no segment of the failed
batch, the ledger's committed batches, the warehouse month file byte for byte), deletes the filler and
runs again (a partition write: its step's own retry, wiring/policies.py, runs again).
"""

from __future__ import annotations

import errno
import gc
import hashlib
import os
import random
import string
import subprocess
import uuid
from datetime import date
from pathlib import Path

import pytest
from dagster import AssetSelection, DagsterEventType, DagsterInstance, Definitions, define_asset_job
from sqlalchemy.exc import OperationalError

from amzn_assets.cli import main
from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.generate import generate_sample
from amzn_assets.landing.archive import Archive
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.data_dirs import DataDirs
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.conftest import gz_review, upload

DISK_SIZE = "8m"
DAYS = ["2018-01-02", "2018-01-03", "2018-01-04"]
FIRST, BIG = 10, 200  # reviews landed before the disk fills; then reviews of ~3 KB of text each


@pytest.fixture
def disk(tmp_path: Path, monkeypatch) -> Path:
    """A DISK_SIZE tmpfs, unmounted at teardown whatever happened."""
    for name in ("AMZN_DATA_DIR", "AMZN_LEDGER_URL", "AMZN_UPLOAD_URL", "AMZN_BACKEND", "AMZN_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"the disk-full tests mount a tmpfs and need root (or CAP_SYS_ADMIN): "
                           f"mount -t tmpfs {mount} failed: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        gc.collect()  # ledger engines of landers gone out of scope close their files on the mount
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk: Path, leave: int = 0) -> Path:
    """Take all but `leave` bytes of the disk in one file; deleting it frees them."""
    stat = os.statvfs(disk)
    free = stat.f_bavail * stat.f_frsize
    filler = disk / f"filler-{len(list(disk.glob('filler-*')))}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.posix_fallocate(fd, 0, max(free - leave, 1))
    finally:
        os.close(fd)
    assert os.statvfs(disk).f_bavail * stat.f_frsize <= leave
    return filler


def upload_reviews(dirs: DataDirs, prefix: str, count: int, text_chars: int = 0) -> None:
    """count one-review files over DAYS; with text_chars, random text that compresses little."""
    rng = random.Random(prefix)
    for i in range(count):
        text = "".join(rng.choices(string.ascii_letters, k=text_chars)) if text_chars else "Fine."
        day = 1514851200 + 86400 * (i % len(DAYS))  # 2018-01-02 and the next two days
        upload(dirs, f"reviews/toys/{prefix}-{i:04d}.json.gz",
               gz_review(reviewerID=f"A{prefix.upper()}{i:06d}", reviewText=text, unixReviewTime=day))


def landed_once(dirs: DataDirs, expected: int) -> None:
    """Every review landed and readable exactly once, the upload area empty, every file archived once."""
    lander = Lander(dirs)
    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(DAYS)
    assert rows.num_rows == len(set(rows["review_id"].to_pylist())) == expected
    assert lander.ledger.file_status_counts() == {"landed": expected}
    assert lander.ledger.open_batches() == []
    assert [p for p in dirs.uploaded.rglob("*") if p.is_file()] == []
    archived = [p for p in Archive(lander.store).paths() if "#uploaded/reviews/" in p]
    assert len(archived) == len(set(archived)) == expected
    lander.ledger.engine.dispose()


def leftovers(root: Path) -> list[Path]:
    """Temporary files: half-written segments, bundles or month files."""
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp"))


def segments_of(dirs: DataDirs, batch_id: str) -> list[Path]:
    return sorted(p for p in dirs.landed.rglob(f"*{batch_id}*") if p.is_file())


def ledger_state(dirs: DataDirs) -> tuple[set[str], list[str]]:
    """(committed review batches, open batches) as the ledger holds them."""
    lander = Lander(dirs)
    try:
        return lander.ledger.committed_batches("reviews"), [b for b, _ in lander.ledger.open_batches()]
    finally:
        lander.ledger.engine.dispose()


@pytest.fixture
def loaded(disk: Path) -> DataDirs:
    """FIRST reviews landed on the small disk, then BIG reviews waiting in its upload area."""
    dirs = DataDirs(disk / "data")
    upload_reviews(dirs, "first", FIRST)
    assert main(["--data-dir", str(dirs.root), "land"]) == 0
    upload_reviews(dirs, "big", BIG, text_chars=3000)
    return dirs


def test_a_landing_that_fills_the_disk_with_segments_fails_cleanly_then_lands_everything(disk, loaded, capsys):
    dirs = loaded
    committed, _ = ledger_state(dirs)
    capsys.readouterr()
    filler = fill(disk, leave=256 * 1024)  # room for the batch's ledger row, not its ~600 KB of segments
    assert main(["--data-dir", str(dirs.root), "land"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("amzn-assets land: [Errno 28] No space left on device") and err.count("\n") == 1, err
    assert leftovers(disk) == []
    after, opened = ledger_state(dirs)
    assert after == committed and len(opened) == 1
    assert segments_of(dirs, opened[0]) == []  # the segments it wrote before the full one went with it
    assert len(list(dirs.uploaded.rglob("*.json.gz"))) == BIG

    filler.unlink()
    assert main(["--data-dir", str(dirs.root), "land"]) == 0
    landed_once(dirs, FIRST + BIG)
    assert leftovers(disk) == []


def _fill_at(disk: Path, stage: str, fillers: list[Path]):
    def hook(reached: str) -> None:
        if reached == stage:
            fillers.append(fill(disk))

    return hook


def test_a_ledger_commit_on_a_full_disk_fails_cleanly_then_lands_everything(disk, loaded):
    dirs = loaded
    committed, _ = ledger_state(dirs)
    fillers: list[Path] = []
    lander = Lander(dirs, on_stage=_fill_at(disk, "segments_written", fillers))
    with pytest.raises(OperationalError, match="database or disk is full"):
        lander.land_pending()
    lander.ledger.engine.dispose()
    assert leftovers(disk) == []
    after, opened = ledger_state(dirs)
    assert after == committed and len(opened) == 1  # the batch stays open: the next run rolls it back
    assert len(list(dirs.uploaded.rglob("*.json.gz"))) == BIG

    fillers[0].unlink()
    Lander(dirs).land_pending()
    assert segments_of(dirs, opened[0]) == []
    landed_once(dirs, FIRST + BIG)
    assert leftovers(disk) == []


def test_an_archive_bundle_on_a_full_disk_fails_cleanly_then_is_finished(disk, loaded):
    dirs = loaded
    committed, _ = ledger_state(dirs)
    fillers: list[Path] = []
    lander = Lander(dirs, on_stage=_fill_at(disk, "committed", fillers))
    with pytest.raises(OSError) as failed:
        lander.land_pending()
    lander.ledger.engine.dispose()
    assert failed.value.errno == errno.ENOSPC
    assert leftovers(disk) == []  # no half-written bundle
    after, opened = ledger_state(dirs)
    assert opened == [] and len(after - committed) == 1  # committed before archiving: landed, once
    assert len(list(dirs.uploaded.rglob("*.json.gz"))) == BIG  # nothing deleted without its archive copy

    fillers[0].unlink()
    report = Lander(dirs).land_pending()
    assert (report.batches, report.files_landed, report.files_duplicate) == (0, 0, 0)  # only archiving finished
    assert ledger_state(dirs)[0] == after
    landed_once(dirs, FIRST + BIG)
    assert leftovers(disk) == []


# -- a warehouse partition write ------------------------------------------------------------------

DAY = "2018-01-02"
FACT = AssetSelection.assets("reviews_fact")


def _materialize(dirs: DataDirs, instance, selection, run_id: str | None = None) -> None:
    """materialize(), with a run id to listen to (the same job materialize builds)."""
    defs = Definitions(jobs=[define_asset_job("disk_full", selection=selection)], assets=all_assets,
                       resources=resources_for("local", str(dirs.root)))
    job = defs.resolve_job_def("disk_full")
    assert job.execute_in_process(instance=instance, partition_key=DAY, run_id=run_id).success


def _fact_day(dirs: DataDirs) -> list:
    return sorted(run_query(dirs.warehouse, f"SELECT * FROM reviews_fact WHERE review_date = '{DAY}'").rows, key=repr)


def test_a_partition_write_on_a_full_disk_leaves_the_day_unchanged_then_its_retry_writes_it(disk, tmp_path):
    """reviews_fact retries a failed step (wiring/policies.py): at the first failure the disk is
    checked and freed, and the retry writes the day."""
    dirs, clean = DataDirs(disk / "data"), DataDirs(tmp_path / "clean")
    with DagsterInstance.ephemeral() as instance:
        for d in (dirs, clean):
            generate_sample(d.root, seed=7, start=date.fromisoformat(DAY), days=2, reviews=120, stations=2)
        _materialize(dirs, instance, FACT.upstream())
        before = _fact_day(dirs)
        for d in (dirs, clean):
            for i in range(20):  # more reviews of the day: the failed write would change it
                upload(d, f"reviews/toys/late-{i}.json.gz", gz_review(reviewerID=f"ALATE{i:04d}"))
        _materialize(dirs, instance, FACT.upstream() - FACT)  # lands them; reviews_fact keeps the old day
        month = dirs.warehouse / "reviews_fact" / f"{DAY[:7]}.parquet"
        old_bytes = hashlib.sha256(month.read_bytes()).hexdigest()

        at_failure: list[tuple] = []
        filler = fill(disk)

        def on_event(record) -> None:
            event = record.dagster_event
            if event is not None and event.event_type == DagsterEventType.STEP_UP_FOR_RETRY and not at_failure:
                at_failure.append((event.step_retry_data.error.to_string(), leftovers(disk),
                                   hashlib.sha256(month.read_bytes()).hexdigest(), _fact_day(dirs)))
                filler.unlink()  # space freed before the retry

        run_id = str(uuid.uuid4())
        instance.add_event_listener(run_id, on_event)
        _materialize(dirs, instance, FACT, run_id=run_id)
        assert len(at_failure) == 1, "the write never met a full disk"
        error, left, bytes_then, day_then = at_failure[0]
        assert "No space left on device" in error and "OSError" in error, error
        assert (left, bytes_then, day_then) == ([], old_bytes, before)

        _materialize(clean, instance, FACT.upstream())
        assert _fact_day(dirs) == _fact_day(clean)
        assert len(_fact_day(dirs)) == len(before) + 20
        assert leftovers(disk) == []
