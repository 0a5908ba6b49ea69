"""parse_reviews on the real All_Beauty 5-core file and on crafted lines."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

import orjson
import pyarrow.compute as pc
import pytest

from amzn_assets.sources.common import RawLine, split_lines
from amzn_assets.sources.reviews import parse_reviews
from amzn_assets.tables import PARSED_REVIEW_SCHEMA

FIXTURES = Path(__file__).parents[1] / "fixtures"
TODAY = dt.date(2024, 1, 1)

GOOD = {
    "overall": 4.0,
    "verified": True,
    "reviewTime": "09 1, 2016",
    "reviewerID": "A3CIUOJXQ5VDQ2",
    "asin": "B0000530HU",
    "style": {"Size:": " 7.0 oz", "Flavor:": " Classic Ice Blue"},
    "reviewerName": "Shelly F",
    "reviewText": "As advertised.",
    "summary": "Five Stars",
    "unixReviewTime": 1472688000,
}


def line(data: bytes | dict, number: int = 1) -> RawLine:
    if isinstance(data, dict):
        data = orjson.dumps(data)
    return RawLine(data, "crafted.json", number, "All_Beauty")


def parse_one(record: bytes | dict):
    result = parse_reviews([line(record)], today=TODAY)
    rows = result.table.to_pylist()
    return (rows[0] if rows else None), [r.reason for r in result.rejected]


@pytest.fixture(scope="module")
def all_beauty():
    data = gzip.decompress((FIXTURES / "All_Beauty_5.json.gz").read_bytes())
    return parse_reviews(split_lines(data, "All_Beauty_5.json.gz", "All_Beauty"))


def test_all_beauty_parses_whole(all_beauty):
    table = all_beauty.table
    assert table.schema == PARSED_REVIEW_SCHEMA
    assert table.num_rows == 5269
    assert all_beauty.rejected == []
    assert table["category"].unique().to_pylist() == ["All_Beauty"]
    assert pc.min_max(table["review_date"]).as_py() == {
        "min": dt.date(2004, 9, 21),
        "max": dt.date(2018, 8, 23),
    }
    assert table["vote"].null_count == 5269 - 552  # vote is absent on most reviews
    assert pc.sum(pc.greater(table["image_count"], 0)).as_py() == 98


def test_all_beauty_quirks(all_beauty):
    table = all_beauty.table
    first = table.slice(0, 1).to_pylist()[0]
    assert first["review_time"] == dt.datetime(2016, 9, 1, tzinfo=dt.timezone.utc)
    assert first["review_date"] == dt.date(2016, 9, 1)
    assert first["rating"] == 5
    assert first["verified"] is True
    # {"Size:": " 7.0 oz", "Flavor:": " Classic Ice Blue"}: colons and blanks gone, keys sorted
    assert first["style"] == '{"Flavor":"Classic Ice Blue","Size":"7.0 oz"}'
    assert "Size:" not in "".join(table["style"].drop_null().to_pylist())
    # "vote": "1,341" on a real review
    voted = table.filter(pc.equal(table["vote"], 1341)).to_pylist()
    assert ("B000GLRREU", "A2JCJJNY43QQIV") in {(r["asin"], r["reviewer_id"]) for r in voted}
    # five reviews have no reviewText (and no summary)
    assert table["review_text"].null_count == 5
    assert table["summary"].null_count == 5


def test_vote_with_thousands_separator_and_int():
    row, rejects = parse_one({**GOOD, "vote": "1,341"})
    assert rejects == [] and row["vote"] == 1341
    row, _ = parse_one({**GOOD, "vote": 12})
    assert row["vote"] == 12
    row, _ = parse_one(GOOD)
    assert row["vote"] is None


def test_2018_record_fields():
    row, rejects = parse_one({**GOOD, "image": ["https://a/1.jpg", "https://a/2.jpg"]})
    assert rejects == []
    assert row == {
        "review_date": dt.date(2016, 9, 1),
        "review_time": dt.datetime(2016, 9, 1, tzinfo=dt.timezone.utc),
        "asin": "B0000530HU",
        "reviewer_id": "A3CIUOJXQ5VDQ2",
        "reviewer_name": "Shelly F",
        "category": "All_Beauty",
        "rating": 4,
        "verified": True,
        "vote": None,
        "total_votes": None,  # a 2014 field
        "style": '{"Flavor":"Classic Ice Blue","Size":"7.0 oz"}',
        "summary": "Five Stars",
        "review_text": "As advertised.",
        "image_count": 2,
    }


def test_2014_format_helpful_and_no_verified():
    record = {
        "reviewerID": "A2SUAM1J3GNN3B",
        "asin": "0000013714",
        "reviewerName": "J. McDonald",
        "helpful": [3, 5],
        "reviewText": "I bought this for my husband.",
        "overall": 5.0,
        "summary": "Heavenly Highway Hymns",
        "unixReviewTime": 1252800000,
        "reviewTime": "09 13, 2009",
    }
    row, rejects = parse_one(record)
    assert rejects == []
    assert (row["vote"], row["total_votes"]) == (3, 5)  # 3 of 5 voters found it helpful
    assert row["verified"] is None
    assert row["style"] is None
    assert row["image_count"] == 0
    assert row["review_date"] == dt.date(2009, 9, 13)


def test_2014_helpful_total_rules():
    """helpful is [helpful votes, total votes]: both whole numbers like vote; a null total is no total."""
    base = {k: v for k, v in GOOD.items() if k != "vote"}
    row, _ = parse_one({**base, "helpful": [0, "1,200"]})
    assert (row["vote"], row["total_votes"]) == (0, 1200)
    row, _ = parse_one({**base, "helpful": [2, None]})
    assert (row["vote"], row["total_votes"]) == (2, None)
    row, _ = parse_one({**base, "vote": "7", "helpful": [2, 9]})  # a 2018 vote wins; helpful is not read
    assert (row["vote"], row["total_votes"]) == (7, None)
    _, rejects = parse_one({**base, "helpful": [2, "many"]})
    assert rejects == ["unparseable helpful total: 'many'"]
    _, rejects = parse_one({**base, "helpful": [2, -1]})
    assert rejects == ["unparseable helpful total: -1"]


def test_review_time_falls_back_to_review_time_text():
    record = {k: v for k, v in GOOD.items() if k != "unixReviewTime"}
    row, rejects = parse_one({**record, "reviewTime": "12 31, 2015"})
    assert rejects == []
    assert row["review_time"] == dt.datetime(2015, 12, 31, tzinfo=dt.timezone.utc)


def test_missing_review_text_is_null_and_extra_fields_accepted():
    record = {k: v for k, v in GOOD.items() if k != "reviewText"}
    row, rejects = parse_one({**record, "brandNewField": {"x": [1, 2]}, "another": None})
    assert rejects == []
    assert row["review_text"] is None


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (b'{"asin": "B0000530HU", "overall": 5.0', "invalid JSON: "),
        (b'{"asin": "\xff\xfe", "reviewerID": "A1", "overall": 5.0, "unixReviewTime": 1}', "not valid UTF-8"),
        (b'["B0000530HU", 5.0]', "not a JSON object"),
        ({**GOOD, "asin": None}, "missing asin"),
        ({**GOOD, "asin": ""}, "missing asin"),
        ({k: v for k, v in GOOD.items() if k != "asin"}, "missing asin"),
        ({k: v for k, v in GOOD.items() if k != "reviewerID"}, "missing reviewerID"),
        ({**GOOD, "overall": None}, "missing overall"),
        ({k: v for k, v in GOOD.items() if k != "overall"}, "missing overall"),
        ({**GOOD, "overall": 7}, "overall out of range 1-5: 7"),
        ({**GOOD, "overall": 0.0}, "overall out of range 1-5: 0"),
        ({**GOOD, "overall": 4.5}, "overall not a whole number: 4.5"),
        ({**GOOD, "overall": "5"}, "overall not a number: '5'"),
        ({**GOOD, "unixReviewTime": 1924992000}, "review date in the future: 2031-01-01"),
        ({**GOOD, "vote": "abc"}, "unparseable vote: 'abc'"),
        ({k: v for k, v in GOOD.items() if k not in ("unixReviewTime", "reviewTime")}, "missing review time"),
        ({**GOOD, "unixReviewTime": "soon"}, "invalid review time: "),
        ({**GOOD, "unixReviewTime": None, "reviewTime": "13 45, 2016"}, "invalid review time: "),
    ],
)
def test_rejects(record, reason):
    row, rejects = parse_one(record)
    assert row is None
    assert len(rejects) == 1 and rejects[0].startswith(reason), rejects


def test_reject_keeps_source_line_and_record():
    lines = [line(GOOD, 1), line(b"not json", 2), line({**GOOD, "overall": 7}, 3)]
    result = parse_reviews(lines, today=TODAY)
    assert result.table.num_rows == 1
    assert [(r.source, r.line) for r in result.rejected] == [("crafted.json", 2), ("crafted.json", 3)]
    assert result.rejected[0].record == "not json"


def test_today_is_inclusive():
    day = dt.date(2016, 9, 1)
    assert parse_reviews([line(GOOD)], today=day).table.num_rows == 1
    rejected = parse_reviews([line(GOOD)], today=day - dt.timedelta(days=1)).rejected
    assert [r.reason for r in rejected] == ["review date in the future: 2016-09-01"]


def test_empty_input_gives_empty_table():
    result = parse_reviews([])
    assert result.table.schema == PARSED_REVIEW_SCHEMA
    assert result.table.num_rows == 0 and result.rejected == []
