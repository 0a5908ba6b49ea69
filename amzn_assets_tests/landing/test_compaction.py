"""Compaction of span segments (landing/compaction.py): the same rows, in the same order, from a few files.

Batches are written with the real segment writer and ledger (as the lander writes them), small
enough to run in seconds; one test goes through Lander.land_pending, where compaction runs by
itself.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from amzn_assets import tables
from amzn_assets.landing import compaction, segments as segments_module
from amzn_assets.landing.compaction import Compactor, readable_segments
from amzn_assets.landing.pieces import most_reaching_a_day
from amzn_assets.landing.intake import Lander, new_batch_id
from amzn_assets.landing.kinds import REVIEWS
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.ledger_schema import landing_compactions
from amzn_assets.landing.readers import LandedReader
from amzn_assets.landing.segments import COMPACTED_FOLDER, SPAN_FOLDER, SegmentStore
from amzn_assets_tests.conftest import gz_review, upload

SCHEMA = tables.PARSED_REVIEW_SCHEMA
START = date(2010, 1, 1)
DAYS = 400


class Crash(RuntimeError):
    pass


def review(day: date, reviewer: str, vote: int = 0) -> dict:
    return {
        "review_date": day,
        "review_time": datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc),
        "asin": "B000COMPACT",
        "reviewer_id": reviewer,
        "reviewer_name": "someone",
        "category": "toys",
        "rating": 4,
        "verified": True,
        "vote": vote,
        "total_votes": None,
        "style": None,
        "summary": "fine",
        "review_text": f"text of {reviewer}",
        "image_count": 0,
    }


class Zone:
    """A landing zone written batch by batch as the lander writes it (segments, then the commit)."""

    def __init__(self, root, compact_after_each: bool, **compactor):
        self.ledger = Ledger(f"sqlite:///{root}/ledger.sqlite")
        self.segments = SegmentStore(root / "landed")
        self.reader = LandedReader(self.ledger, self.segments)
        self.compactor = Compactor(self.ledger, self.segments, **compactor)
        self.compact_after_each = compact_after_each

    def land(self, rows: list[dict]) -> str:
        batch_id = new_batch_id()
        self.ledger.open_batch(batch_id, "reviews")
        table = pa.Table.from_pylist(rows, schema=SCHEMA)
        self.segments.write("reviews", table, "review_date", batch_id)
        self.ledger.commit_batch(batch_id, [], [], table.num_rows)
        if self.compact_after_each:
            self.compactor.compact_due()
        return batch_id

    def day(self, day: str) -> pa.Table:
        return self.reader.reviews([day])[0]

    def files(self, folder: str) -> list:
        path = self.segments.root / "reviews" / folder
        return sorted(path.iterdir()) if path.is_dir() else []


def historical_batches(seed: int = 5, batches: int = 14, rows: int = 120) -> list[list[dict]]:
    """Span batches over DAYS days, a trickle batch (2 days) between some of them, and two reviews
    landed again with new votes by later batches: 'early' by a trickle and then by a span,
    'late' by a span and then by a trickle (the last landed copy must win)."""
    rng = random.Random(seed)
    day = lambda n: START + timedelta(days=n)  # noqa: E731
    out = []
    for b in range(batches):
        out.append([review(day(rng.randrange(DAYS)), f"R{b}-{i}", rng.randrange(9)) for i in range(rows)])
        if b % 3 == 1:
            out.append([review(day(7), f"T{b}", 1), review(day(8), f"T{b}-2", 1)])
    out[0].append(review(day(7), "early", 1))
    out[2].append(review(day(7), "early", 2))  # out[2] is the trickle after batch 1
    out[4].append(review(day(7), "early", 3))  # a later span: the winner
    out[6].append(review(day(8), "late", 1))
    out[7].append(review(day(8), "late", 2))  # out[7] is the trickle after batch 5: the winner
    return out


EVERY_DAY = [(START + timedelta(days=n)).isoformat() for n in range(DAYS)]


def test_compacted_reads_are_the_reads_of_the_segments_they_replaced(tmp_path):
    plain = Zone(tmp_path / "plain", compact_after_each=False)
    compacted = Zone(tmp_path / "compacted", compact_after_each=True, spans_max=3, piece_rows=200)
    for rows in historical_batches():
        plain.land(rows)
        compacted.land(rows)
    assert compacted.files(COMPACTED_FOLDER), "no compaction ran"
    assert len(compacted.files(SPAN_FOLDER)) < 3 < len(plain.files(SPAN_FOLDER)) == 14
    for day in EVERY_DAY[::5] + EVERY_DAY[7:9]:  # one day at a time (every day: the next line)
        assert compacted.day(day).equals(plain.day(day)), day
    for keys in (EVERY_DAY[:31], EVERY_DAY):  # several days: rows in batch order, as before
        assert compacted.reader.reviews(keys)[0].equals(plain.reader.reviews(keys)[0])
    votes = {r["reviewer_id"]: r["vote"] for r in compacted.reader.reviews(EVERY_DAY[7:9])[0].to_pylist()}
    assert (votes["early"], votes["late"]) == (3, 2)

    compacted.compactor.compact("reviews", everything=True)  # one compaction holds every span batch
    with compacted.ledger.engine.connect() as conn:
        assert conn.execute(select(landing_compactions.c.status)).scalars().all() == ["live"]
    assert compacted.files(SPAN_FOLDER) == []
    assert compacted.reader.reviews(EVERY_DAY)[0].equals(plain.reader.reviews(EVERY_DAY)[0])
    assert compacted.reader.days_with(REVIEWS, "reviewer_id", ["early", "R3-5"]) == plain.reader.days_with(
        REVIEWS, "reviewer_id", ["early", "R3-5"]
    )


def test_a_days_read_opens_a_bounded_number_of_files(tmp_path, monkeypatch):
    zone = Zone(tmp_path, compact_after_each=True, piece_rows=500)  # the defaults: 4 spans, ratio 2
    opened = []
    real_read_table = pq.read_table
    monkeypatch.setattr(segments_module.pq, "read_table", lambda path, **kw: opened.append(path) or real_read_table(path, **kw))
    rng = random.Random(1)
    most = 0
    for b in range(60):
        zone.land([review(START + timedelta(days=rng.randrange(DAYS)), f"R{b}-{i}") for i in range(100)])
        opened.clear()
        zone.day(EVERY_DAY[200])
        most = max(most, len(opened))
    # Without compaction the read opens all 60 spans. With it: fewer than spans_max loose spans,
    # plus one piece per live compaction, which differ in size by more than the ratio: at most
    # 1 + log_2(60 / 4) of them.
    assert zone.compactor.spans_max == compaction.SPANS_REACHING_A_DAY_MAX == 4 and zone.compactor.ratio == 2
    assert most <= 3 + 1 + math.floor(math.log2(60 / 4))
    assert len(opened) == len(zone.segments.paths("reviews", zone.reader.readable("reviews"), "review_date", [EVERY_DAY[200]]))


@pytest.mark.parametrize("stage", ["pieces_written", "committed"])
def test_a_crash_mid_compaction_leaves_readable_data_and_the_next_one_finishes(tmp_path, stage):
    plain = Zone(tmp_path / "plain", compact_after_each=False)
    zone = Zone(tmp_path / "zone", compact_after_each=False, piece_rows=200)
    for rows in historical_batches(batches=6):
        plain.land(rows)
        zone.land(rows)
    expected = plain.reader.reviews(EVERY_DAY)[0]

    def crash(at: str) -> None:
        if at == stage:
            raise Crash(at)

    with pytest.raises(Crash):
        Compactor(zone.ledger, zone.segments, on_stage=crash).compact("reviews")
    assert zone.files(COMPACTED_FOLDER) and len(zone.files(SPAN_FOLDER)) == 6  # nothing deleted yet
    readable = zone.reader.readable("reviews")
    assert any(name.startswith("c") for name in readable) == (stage == "committed")  # the new set or the old
    assert zone.reader.reviews(EVERY_DAY)[0].equals(expected)

    zone.compactor.compact_due()  # recovers (the crashed compaction's pieces, or the superseded spans, go), compacts
    with zone.ledger.engine.connect() as conn:
        assert set(conn.execute(select(landing_compactions.c.status)).scalars()) <= {"live"}
    on_disk = {p.name.split(".", 1)[0] for folder in (SPAN_FOLDER, COMPACTED_FOLDER) for p in zone.files(folder)}
    assert on_disk <= zone.reader.readable("reviews")
    assert zone.reader.reviews(EVERY_DAY)[0].equals(expected)
    assert zone.files(SPAN_FOLDER) == []  # superseded spans deleted, or compacted again (6 >= 4 reach a day)


def test_a_reader_that_took_the_set_before_a_compaction_reads_again(tmp_path, monkeypatch):
    zone = Zone(tmp_path, compact_after_each=False)
    for rows in historical_batches(batches=6):
        zone.land(rows)
    expected = zone.reader.reviews(EVERY_DAY)[0]
    stale = zone.reader.readable("reviews")
    zone.compactor.compact("reviews")  # commits, then deletes the spans the stale set names
    answers = [stale]
    monkeypatch.setattr(zone.reader, "readable", lambda kind: answers.pop() if answers else readable_segments(zone.ledger, kind))
    assert zone.reader.reviews(EVERY_DAY)[0].equals(expected)
    assert answers == []


def test_landing_compacts_historical_batches_by_itself(dirs, monkeypatch):
    monkeypatch.setattr(compaction, "SPANS_REACHING_A_DAY_MAX", 3)
    days = [(START + timedelta(days=n)).isoformat() for n in range(0, 300, 10)]  # 30 days: spans
    for landing in range(4):
        for n, day in enumerate(days):
            when = int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()) + landing
            upload(dirs, f"reviews/toys/l{landing}-{n:03d}.json.gz", gz_review(reviewerID=f"A{landing}-{n}", unixReviewTime=when))
        Lander(dirs).land_pending()
    lander = Lander(dirs)
    assert len(list((dirs.landed / "reviews" / SPAN_FOLDER).glob("*.parquet"))) == 1  # the 4th landing's
    assert list((dirs.landed / "reviews" / COMPACTED_FOLDER).glob("*.parquet"))
    committed = lander.ledger.committed_batches("reviews")
    assert len(committed) == 4  # landing batches keep their rows: what the stream needs of them holds
    assert lander.ledger.partitions_of_batches(committed) == set(days)
    reader = LandedReader(lander.ledger, lander.segments)
    assert reader.reviews(days)[0].num_rows == 4 * len(days)
    assert reader.reviews([days[3]])[0]["reviewer_id"].to_pylist() == [f"A{k}-3" for k in range(4)]

    upload(dirs, "reviews/toys/again.json.gz", gz_review(reviewerID="A0-3", unixReviewTime=int(datetime.fromisoformat(days[3]).replace(tzinfo=timezone.utc).timestamp())))
    report = Lander(dirs).land_pending()  # the same content again: a duplicate, as before compaction
    assert (report.files_landed, report.files_duplicate) == (0, 1)
    assert reader.reviews(days)[0].num_rows == 4 * len(days)


def test_most_reaching_a_day():
    assert most_reaching_a_day([]) == 0
    assert most_reaching_a_day([("2010-01-01", "2010-01-05"), ("2010-01-05", "2010-02-01"), ("2010-01-06", "2010-03-01")]) == 2
    assert most_reaching_a_day([("2010-01-01", "2010-12-31")] * 3) == 3
