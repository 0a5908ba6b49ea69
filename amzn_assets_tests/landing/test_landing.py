"""Exactly-once landing: idempotency, duplicates and crashes between the protocol's steps."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from amzn_assets.landing.archive import Archive, bundle_path
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.kinds import REVIEWS
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.segments import DAY_SEGMENTS_MAX, SPAN_FOLDER, batch_of
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


def archived_reviews(dirs) -> list[str]:
    """Archived copies of review uploads: bundle members (bundle#uploaded/reviews/...) and files."""
    return [p for p in Archive(Lander(dirs).store).paths() if "#uploaded/reviews/" in p or p.startswith("raw/reviews/")]


def test_sample_lands_every_review_and_archives_sources(dirs, sample):
    uploaded = len(uploaded_files(dirs))
    report = Lander(dirs).land_pending()
    assert uploaded == sample.review_files + 2 + 1 + 3  # + 2 product files, the station list, 3 climate CSVs
    assert report.files_landed == uploaded
    assert report.rejected_records == 0
    assert landed_rows(dirs) == SAMPLE_REVIEWS
    assert uploaded_files(dirs) == []
    assert len(archived_reviews(dirs)) == SAMPLE_REVIEWS
    assert sum(p.is_file() for p in dirs.raw.rglob("*")) == report.batches  # one bundle per batch
    assert sorted(report.partitions["reviews"]) == ALL_DAYS


def test_landing_twice_adds_nothing(dirs, sample):
    Lander(dirs).land_pending()
    again = Lander(dirs).land_pending()
    assert (again.files_landed, again.rows, again.batches) == (0, 0, 0)
    assert landed_rows(dirs) == SAMPLE_REVIEWS


def test_same_file_uploaded_twice_is_recorded_as_duplicate(dirs, sample):
    Lander(dirs).land_pending()
    archive = Archive(Lander(dirs).store)
    for path in archived_reviews(dirs)[:10]:  # upload the same ten files again, under their original names
        (dirs.root / path.partition("#")[2]).write_bytes(archive.read(path))
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
    batches = {batch_of(p) for p in segment_files}
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
    assert row.archived_path == f"{bundle_path(row.batch_id)}#uploaded/reviews/toys/one.json.gz"
    assert Archive(Lander(dirs).store).read(row.archived_path) == gz_review()


def test_a_new_file_under_an_old_name_lands_and_keeps_both_archive_copies(dirs):
    upload(dirs, "reviews/toys/same-name.json.gz", gz_review(reviewerID="AFIRST"))
    Lander(dirs).land_pending()
    upload(dirs, "reviews/toys/same-name.json.gz", gz_review(reviewerID="ASECOND"))
    report = Lander(dirs).land_pending()
    assert (report.files_landed, report.files_duplicate) == (1, 0)
    archived = archived_reviews(dirs)  # one member in each batch's bundle
    assert [p.partition("#")[2] for p in archived] == ["uploaded/reviews/toys/same-name.json.gz"] * 2
    assert len({p.partition("#")[0] for p in archived}) == 2
    rows, _ = LandedReader(Lander(dirs).ledger, Lander(dirs).segments).reviews(["2018-01-02"])
    assert sorted(rows["reviewer_id"].to_pylist()) == ["AFIRST", "ASECOND"]


# -- segment layout: per-day segments for a trickle, one span segment for a batch over many days --

def day_time(day: str, second: int = 0) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) + second


def upload_reviews(dirs, days: list[str], prefix: str = "r") -> None:
    for n, day in enumerate(days):
        upload(dirs, f"reviews/toys/{prefix}{n:05d}.json.gz", gz_review(reviewerID=f"A{prefix}{n}", unixReviewTime=day_time(day, n)))


def review_segments(dirs) -> list:
    return sorted((dirs.landed / "reviews").rglob("*.parquet"))


def reviews_of(dirs, days: list[str]):
    lander = Lander(dirs)
    rows, _ = LandedReader(lander.ledger, lander.segments).reviews(days)
    return rows


MANY_DAYS = [f"2017-{month:02d}-{day:02d}" for month in (1, 2, 3) for day in (1, 15)]


def test_a_batch_over_many_days_writes_one_segment_that_reads_back_by_day(dirs):
    assert len(MANY_DAYS) > DAY_SEGMENTS_MAX
    upload_reviews(dirs, MANY_DAYS * 2)
    report = Lander(dirs).land_pending()
    assert report.partitions["reviews"] == set(MANY_DAYS)
    [segment] = review_segments(dirs)
    assert segment.parent.name == SPAN_FOLDER and segment.name.endswith(".2017-01-01.2017-03-15.parquet")
    for day in MANY_DAYS:
        rows = reviews_of(dirs, [day])
        assert rows.num_rows == 2 and {d.isoformat() for d in rows["review_date"].to_pylist()} == {day}
    assert reviews_of(dirs, ["2017-01-02", "2016-12-31"]).num_rows == 0  # inside and outside the span
    assert reviews_of(dirs, MANY_DAYS).num_rows == len(MANY_DAYS) * 2
    lander = Lander(dirs)
    asin_days = LandedReader(lander.ledger, lander.segments).days_with(REVIEWS, "asin", ["B000TEST01"])
    assert asin_days == set(MANY_DAYS)


def test_a_trickle_of_current_days_keeps_one_segment_per_day(dirs):
    for landing in range(3):  # three sensor ticks, each a few reviews of the same days
        upload_reviews(dirs, ["2018-01-02", "2018-01-02", "2018-01-03"], prefix=f"t{landing}-")
        Lander(dirs).land_pending()
    folders = [p.parent.name for p in review_segments(dirs)]
    assert sorted(folders) == ["review_date=2018-01-02"] * 3 + ["review_date=2018-01-03"] * 3
    assert reviews_of(dirs, ["2018-01-02"]).num_rows == 6
    # A later catch-up batch over many days adds a span; a day it covers reads both.
    upload_reviews(dirs, MANY_DAYS + ["2018-01-02"], prefix="c")
    Lander(dirs).land_pending()
    assert sum(p.parent.name == SPAN_FOLDER for p in review_segments(dirs)) == 1
    assert reviews_of(dirs, ["2018-01-02"]).num_rows == 7
    assert reviews_of(dirs, ["2018-01-03"]).num_rows == 3


def test_crash_after_a_span_segment_is_written_is_rolled_back(dirs):
    upload_reviews(dirs, MANY_DAYS)
    with pytest.raises(Crash):
        Lander(dirs, on_stage=crash_at("segments_written")).land_pending()
    assert [p.parent.name for p in review_segments(dirs)] == [SPAN_FOLDER]
    assert reviews_of(dirs, MANY_DAYS).num_rows == 0, "an open batch's span must not be read"

    Lander(dirs).land_pending()
    [segment] = review_segments(dirs)
    assert batch_of(segment) in Lander(dirs).ledger.committed_batches("reviews")
    assert reviews_of(dirs, MANY_DAYS).num_rows == len(MANY_DAYS)
    assert uploaded_files(dirs) == []


def crash_at_nth(stage_name: str, nth: int):
    seen = []

    def hook(stage: str) -> None:
        if stage == stage_name:
            seen.append(stage)
            if len(seen) == nth:
                raise Crash(stage)

    return hook


@pytest.mark.parametrize("stage", ["segments_written", "committed"])
def test_a_crash_in_a_later_batch_recovers_with_span_segments(dirs, stage):
    days = [MANY_DAYS[n % len(MANY_DAYS)] for n in range(2_500)]
    upload_reviews(dirs, days)
    with pytest.raises(Crash):  # batches of 1,000 + 1,000 + 500 files, each one span segment
        Lander(dirs, batch_files=1_000, on_stage=crash_at_nth(stage, 2)).land_pending()
    ledger = Lander(dirs).ledger
    assert len(ledger.committed_batches("reviews")) == (1 if stage == "segments_written" else 2)
    assert len(archived_reviews(dirs)) == 1_000
    assert len(uploaded_files(dirs)) == 1_500
    assert reviews_of(dirs, MANY_DAYS).num_rows == (1_000 if stage == "segments_written" else 2_000)

    report = Lander(dirs).land_pending()
    assert report.files_duplicate == 0
    assert report.files_landed == (1_500 if stage == "segments_written" else 500)
    assert reviews_of(dirs, MANY_DAYS).num_rows == 2_500
    assert uploaded_files(dirs) == []
    assert len(archived_reviews(dirs)) == 2_500
    assert Lander(dirs).ledger.file_status_counts() == {"landed": 2_500}
    assert {batch_of(p) for p in review_segments(dirs)} == Lander(dirs).ledger.committed_batches("reviews")


def test_a_file_that_may_not_be_read_without_access_time_still_lands(dirs, monkeypatch):
    """O_NOATIME is refused on files of another owner (without CAP_FOWNER): read them plainly."""
    import os

    from amzn_assets.landing import stores

    real_open = os.open

    def refusing_noatime(path, flags, *args, **kwargs):
        if flags & getattr(os, "O_NOATIME", 0):
            raise PermissionError(1, "Operation not permitted")
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(stores.os, "open", refusing_noatime)
    upload_reviews(dirs, ["2018-01-02"])
    assert Lander(dirs).land_pending().files_landed == 1


@pytest.mark.parametrize("kind", ["reviews", "products"])
def test_a_file_the_parser_crashes_on_is_quarantined_and_the_rest_lands(dirs, monkeypatch, kind):
    """A parser bug (an exception no rule expected) must not fail the landing, nor every later one
    while the file waits in the upload area: that file is quarantined with the reason, the rest lands."""
    import amzn_assets.sources.products as products
    import amzn_assets.sources.reviews as reviews

    module, name = (reviews, "parse_reviews") if kind == "reviews" else (products, "parse_products")
    real = getattr(module, name)

    def crashing(data, *args, **kwargs):
        text = b"".join(line.data for line in data) if kind == "reviews" else data
        if b"POISON" in text:
            raise ZeroDivisionError("a parser bug")
        return real(data, *args, **kwargs)

    monkeypatch.setattr(module, name, crashing)
    if kind == "reviews":
        for i, who in enumerate(["A1", "POISON", "A3"]):
            upload(dirs, f"reviews/toys/r{i}.json.gz", gz_review(reviewerID=who))
    else:
        for i, asin in enumerate(["B01", "POISON", "B03"]):
            upload(dirs, f"metadata/products/p{i}.json", f'{{"asin": "{asin}", "title": "t"}}\n'.encode())
    report = Lander(dirs).land_pending()
    assert (report.files_landed, report.files_quarantined) == (2, 1)
    lander = Lander(dirs)
    errors = [r["reason"] for r in lander.ledger.quarantined()]
    assert len(errors) == 1 and "parser failed (ZeroDivisionError: a parser bug)" in errors[0]
    assert not any(p.is_file() for p in dirs.uploaded.rglob("*"))  # nothing waits to fail again


def test_review_keys_follow_every_new_batch_and_forget_the_oldest_reads(dirs, sample, monkeypatch):
    from amzn_assets.landing import readers

    Lander(dirs).land_pending()
    lander = Lander(dirs)
    reader = LandedReader(lander.ledger, lander.segments)
    day = ["2018-01-02"]
    rows, _ = reader.reviews(day)
    assert sorted(reader.review_keys(day)["review_id"].to_pylist()) == sorted(rows["review_id"].to_pylist())

    upload(dirs, "reviews/all_beauty/late.json.gz", gz_review(reviewerID="ALATEREVIEWER", unixReviewTime=1514851200))
    Lander(dirs).land_pending()  # a new committed batch for the same day: the memo must not answer
    keys = LandedReader(lander.ledger, lander.segments).review_keys(day)
    assert keys.num_rows == rows.num_rows + 1
    assert keys.column_names == ["review_date", "review_id"]

    both = [reader.reviews(d)[0].num_rows for d in (day, ["2018-01-03"])]
    monkeypatch.setattr(readers, "_review_keys", readers._KeyMemo(max_rows=max(both)))
    reader.reviews(day)
    reader.reviews(["2018-01-03"])  # over the bound together: the first read is forgotten
    assert [key[1] for key in readers._review_keys.entries] == [("2018-01-03",)]
