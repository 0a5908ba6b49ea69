"""Odd and bad input through the landing zone: each is accepted correctly or quarantined with a reason."""

from __future__ import annotations

import gzip
from datetime import date

import orjson
import pytest

from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.transforms.climate import stations as stations_of_day
from amzn_assets_tests.conftest import FIXTURES, gz_review, review_json, upload

DAY = "2018-01-02"


def land(dirs):
    lander = Lander(dirs)
    report = lander.land_pending()
    return report, LandedReader(lander.ledger, lander.segments), lander.ledger.quarantined()


def quarantined_reason(dirs, rel: str) -> str:
    _, _, rows = land(dirs)
    reasons = [r["reason"] for r in rows if r["source"] == f"uploaded/{rel}"]
    assert len(reasons) == 1, rows
    assert (dirs.root / "quarantine" / rel).exists() or (dirs.root / "raw" / rel).exists()
    return reasons[0]


@pytest.mark.parametrize(
    "payload, expected",
    [
        pytest.param(gz_review()[:-12], "truncated", id="truncated-gzip"),
        pytest.param(gzip.compress(b'{"asin": "B1", "overall": 5.0,', mtime=0), "invalid JSON", id="invalid-json"),
        pytest.param(gzip.compress(orjson.dumps(review_json(asin=...)), mtime=0), "missing asin", id="missing-asin"),
        pytest.param(gz_review(overall=7.0), "overall out of range", id="overall-7"),
        pytest.param(gz_review(overall=None), "missing overall", id="null-overall"),
        pytest.param(
            gzip.compress('{"asin": "B1", "reviewerID": "A1", "overall": 5.0, "summary": "caf\xe9"}'.encode("latin-1"), mtime=0),
            "not valid UTF-8",
            id="non-utf8-bytes",
        ),
        pytest.param(b"", "empty file", id="empty-file"),
        pytest.param(gzip.compress(b"", mtime=0), "empty file", id="empty-gzip"),
        pytest.param(gz_review(unixReviewTime=1924992000, reviewTime="01 1, 2031"), "future", id="future-date"),
        pytest.param(gzip.compress(b"[1, 2, 3]\n", mtime=0), "not a JSON object", id="json-array-review"),
    ],
)
def test_bad_review_file_is_quarantined_with_reason(dirs, payload, expected):
    upload(dirs, "reviews/toys/bad.json.gz", payload)
    report, reader, _ = land(dirs)
    assert report.files_quarantined == 1 and report.files_landed == 0
    assert expected.lower() in quarantined_reason(dirs, "reviews/toys/bad.json.gz").lower()
    assert (dirs.quarantine / "reviews/toys/bad.json.gz").exists()
    assert reader.reviews([DAY])[0].num_rows == 0


def accepted_review(dirs, payload: bytes) -> dict:
    upload(dirs, "reviews/toys/odd.json.gz", payload)
    report, reader, quarantined = land(dirs)
    assert (report.files_landed, quarantined) == (1, [])
    rows, _ = reader.reviews([DAY])
    assert rows.num_rows == 1
    return rows.to_pylist()[0]


def test_vote_with_thousands_separator_is_accepted(dirs):
    assert accepted_review(dirs, gz_review(vote="1,341"))["vote"] == 1341


def test_vote_as_integer_is_accepted(dirs):
    assert accepted_review(dirs, gz_review(vote=12))["vote"] == 12


def test_unknown_extra_fields_are_ignored(dirs):
    row = accepted_review(dirs, gz_review(brandNewField={"x": 1}, another=[1, 2]))
    assert row["asin"] == "B000TEST01" and "brandNewField" not in row


def test_2014_format_review_with_helpful_is_accepted(dirs):
    row = accepted_review(dirs, gz_review(verified=..., helpful=[3, 5]))
    assert (row["vote"], row["verified"]) == (3, None)


def test_json_array_metadata_file_is_accepted(dirs):
    products = [{"asin": "B000TEST01", "title": "Mop &amp; Bucket", "price": "$3.62"}, {"asin": "B000TEST02", "title": "Broom"}]
    upload(dirs, "metadata/products/array.json", orjson.dumps(products))
    report, reader, quarantined = land(dirs)
    assert (report.files_landed, quarantined) == (1, [])
    meta = reader.product_metadata().to_pylist()
    assert [(m["asin"], m["title"], m["price"]) for m in meta] == [
        ("B000TEST01", "Mop & Bucket", 3.62),
        ("B000TEST02", "Broom", None),
    ]


def test_climate_row_for_unlisted_station_is_kept_with_its_csv_name(dirs):
    upload(dirs, "metadata/climate/ghcnd-stations.txt", (FIXTURES / "ghcnd-stations_excerpt_head40.txt").read_bytes())
    upload(dirs, "climate/sitka.csv", (FIXTURES / "sitka_weather_2018_full.csv").read_bytes())
    report, reader, quarantined = land(dirs)
    assert quarantined == [] and report.files_landed == 2
    landed = reader.climate(["2018-01-01"])
    assert landed.num_rows == 1
    station = stations_of_day(landed, reader.station_list()).to_pylist()
    assert station == [
        {
            "station_id": "USW00025333", "latitude": None, "longitude": None, "elevation": None,
            "state": None, "name": "SITKA AIRPORT, AK US", "gsn_flag": None, "hcn_crn_flag": None,
            "wmo_id": None, "in_station_list": False, "seen_date": date(2018, 1, 1),
        }
    ]


def test_climate_csv_without_date_column_is_quarantined(dirs):
    upload(dirs, "climate/nodate.csv", b'"STATION","TMAX"\n"USW00025333","48"\n')
    report, _, _ = land(dirs)
    assert report.files_quarantined == 1
    assert "date" in quarantined_reason(dirs, "climate/nodate.csv").lower()


def test_one_bad_line_in_a_multi_review_file_quarantines_only_that_line(dirs):
    good = orjson.dumps(review_json())
    bad = orjson.dumps(review_json(reviewerID="A2", overall=0.0))
    upload(dirs, "reviews/toys/two.json.gz", gzip.compress(good + b"\n" + bad + b"\n", mtime=0))
    report, reader, quarantined = land(dirs)
    assert report.files_landed == 1 and reader.reviews([DAY])[0].num_rows == 1
    assert [(q["line"], "overall out of range" in q["reason"]) for q in quarantined] == [(2, True)]
