"""Exactly-once landing: idempotency, duplicates and crashes between the protocol's steps."""

from __future__ import annotations

import shutil

import pytest

from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_REVIEWS, gz_review, upload

ALL_DAYS = [f"2018-01-{d:02d}" for d in range(1, SAMPLE_DAYS + 1)]


class Crash(RuntimeError):
    pass


def crash_at(stage_name: str):
    def hook(stage: str) -> None:
        if stage == stage_name:
            raise Crash(stage)

    return hook


def landed_rows(dirs) -> int:
    lander = Lander(dirs)
    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(ALL_DAYS)
    return rows.num_rows


def uploaded_files(dirs) -> list:
    return [p for p in dirs.uploaded.rglob("*") if p.is_file()]


def test_sample_lands_every_review_and_archives_sources(dirs, sample):
    uploaded = len(uploaded_files(dirs))
    report = Lander(dirs).land_pending()
    assert uploaded == sample.review_files + 2 + 1 + 3  # + 2 product files, the station list, 3 climate CSVs
    assert report.files_landed == uploaded
    assert report.rejected_records == 0
    assert landed_rows(dirs) == SAMPLE_REVIEWS
    assert uploaded_files(dirs) == []
    assert len(list((dirs.raw / "reviews").rglob("*.json.gz"))) == SAMPLE_REVIEWS
    assert sorted(report.partitions["reviews"]) == ALL_DAYS


def test_landing_twice_adds_nothing(dirs, sample):
    Lander(dirs).land_pending()
    again = Lander(dirs).land_pending()
    assert (again.files_landed, again.rows, again.batches) == (0, 0, 0)
    assert landed_rows(dirs) == SAMPLE_REVIEWS


def test_same_file_uploaded_twice_is_recorded_as_duplicate(dirs, sample):
    Lander(dirs).land_pending()
    archived = sorted((dirs.raw / "reviews").rglob("*.json.gz"))[:10]
    for path in archived:  # upload the same ten files again, under their original names
        shutil.copy(path, dirs.uploaded / path.relative_to(dirs.raw))
    report = Lander(dirs).land_pending()
    assert (report.files_landed, report.files_duplicate, report.rows) == (0, 10, 0)
    assert landed_rows(dirs) == SAMPLE_REVIEWS
    assert Lander(dirs).ledger.file_status_counts()["duplicate"] == 10
    assert uploaded_files(dirs) == []


def test_crash_between_segment_write_and_ledger_commit_is_rolled_back(dirs, sample):
    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash_at("segments_written")).land_pending()
    # The segments are on disk but belong to an open batch: readers ignore them.
    assert any((dirs.landed / "products").glob("*.parquet"))
    assert landed_rows(dirs) == 0
    assert uploaded_files(dirs), "nothing may be archived before the ledger commit"

    Lander(dirs).land_pending()
    assert landed_rows(dirs) == SAMPLE_REVIEWS
    segment_files = list((dirs.landed / "reviews").rglob("*.parquet"))
    batches = {p.stem for p in segment_files}
    assert batches <= Lander(dirs).ledger.committed_batches("reviews"), "orphan segments were left behind"
    assert uploaded_files(dirs) == []


def test_crash_between_commit_and_archive_is_finished_not_duplicated(dirs, sample):
    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash_at("committed")).land_pending()
    assert uploaded_files(dirs), "the crash happened before the move"
    report = Lander(dirs).land_pending()
    assert report.files_duplicate == 0
    assert landed_rows(dirs) == SAMPLE_REVIEWS
    assert uploaded_files(dirs) == []
    assert "duplicate" not in Lander(dirs).ledger.file_status_counts()


def test_files_still_being_written_are_left_alone(dirs):
    upload(dirs, "reviews/toys/.a.json.gz.tmp", gz_review())
    upload(dirs, "reviews/toys/b.json.gz.part", gz_review())
    report = Lander(dirs).land_pending()
    assert report.files_landed == 0
    assert len(uploaded_files(dirs)) == 2


def test_ledger_records_partitions_fed_by_each_file(dirs):
    upload(dirs, "reviews/toys/one.json.gz", gz_review())
    Lander(dirs).land_pending()
    from sqlalchemy import select

    from amzn_assets.landing.ledger_schema import landing_files

    ledger = Lander(dirs).ledger
    with ledger.engine.connect() as conn:
        row = conn.execute(select(landing_files)).one()
    assert row.partitions == '["2018-01-02"]'
    assert row.status == "landed"
    assert row.category == "toys"
    assert row.archived_path == "raw/reviews/toys/one.json.gz"
    assert (dirs.root / row.archived_path).exists()


def test_a_new_file_under_an_old_name_lands_and_keeps_both_archive_copies(dirs):
    upload(dirs, "reviews/toys/same-name.json.gz", gz_review(reviewerID="AFIRST"))
    Lander(dirs).land_pending()
    upload(dirs, "reviews/toys/same-name.json.gz", gz_review(reviewerID="ASECOND"))
    report = Lander(dirs).land_pending()
    assert (report.files_landed, report.files_duplicate) == (1, 0)
    archived = sorted(p.name for p in (dirs.raw / "reviews" / "toys").iterdir())
    assert archived[0] == "same-name.json.gz" and archived[1].startswith("same-name.json.gz.")
    rows, _ = LandedReader(Lander(dirs).ledger, Lander(dirs).segments).reviews(["2018-01-02"])
    assert sorted(rows["reviewer_id"].to_pylist()) == ["AFIRST", "ASECOND"]
