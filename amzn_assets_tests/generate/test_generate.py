"""The synthetic data generator: determinism, layout, formats, and that the parsers accept it."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import re
from pathlib import Path

import pytest

from amzn_assets.generate import GenerateSummary, generate_sample

REVIEW_KEYS = {
    "overall", "vote", "verified", "reviewTime", "reviewerID", "asin", "style", "reviewerName",
    "reviewText", "summary", "unixReviewTime", "image",
}
ALWAYS = {"overall", "verified", "reviewTime", "reviewerID", "asin", "reviewerName", "unixReviewTime"}
PRODUCT_KEYS = [
    "category", "tech1", "description", "fit", "title", "also_buy", "image", "tech2", "brand",
    "feature", "rank", "also_view", "details", "main_cat", "similar_item", "date", "price", "asin",
]


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> GenerateSummary:
    return generate_sample(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def review_records(sample) -> list[dict]:
    records = []
    for path in sorted(sample.data_dir.joinpath("uploaded/reviews").rglob("*.json.gz")):
        raw = path.read_bytes()
        assert raw[4:8] == b"\0\0\0\0", f"{path}: gzip mtime must be 0"
        text = gzip.decompress(raw).decode("utf-8")
        assert text.endswith("\n") and text.count("\n") == 1, f"{path}: not exactly one line"
        record = json.loads(text)
        record["_category"] = path.parent.name
        records.append(record)
    return records


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    args = dict(reviews=400, products_per_category=30, reviewers=150, days=10)
    a = digests(generate_sample(tmp_path / "a", seed=7, **args).data_dir)
    b = digests(generate_sample(tmp_path / "b", seed=7, **args).data_dir)
    c = digests(generate_sample(tmp_path / "c", seed=8, **args).data_dir)
    assert len(a) == 400 + 2 + 1 + 4
    assert a == b
    assert not any(name.rsplit("/", 1)[-1].startswith(".") for name in a), "temp files left"
    # Another seed: different stations (so different climate file names) and different bytes.
    shared = set(a) & set(c)
    assert shared and all(a[name] != c[name] for name in shared)
    assert set(a) != set(c)
    # The parts draw from separate generators: fewer reviews leave the weather unchanged.
    d = digests(generate_sample(tmp_path / "d", seed=7, **{**args, "reviews": 100}).data_dir)
    weather = [n for n in a if n.startswith(("uploaded/climate/", "uploaded/metadata/climate/"))]
    assert weather and all(a[n] == d[n] for n in weather)


def test_summary_matches_disk(sample):
    root = sample.data_dir
    assert sample.first_date == dt.date(2018, 1, 1) and sample.last_date == dt.date(2018, 1, 21)
    on_disk = sorted(p for p in root.rglob("*") if p.is_file())
    assert sorted(sample.paths()) == on_disk
    per_category = {c: len(list((root / "uploaded/reviews" / c).iterdir())) for c in sample.categories}
    assert per_category == dict(sample.reviews_per_category) == {"all_beauty": 1500, "appliances": 1500}
    assert sample.review_files == 3000
    lines = [l for p in sample.product_files for l in gzip.decompress(p.read_bytes()).splitlines()]
    assert len(lines) == sample.products == 120
    assert len(sample.station_list.read_text().splitlines()) == sample.stations == 4 + 3
    assert len(sample.climate_files) == sample.reporting_stations == 4
    rows = sum(len(p.read_text().splitlines()) - 1 for p in sample.climate_files)
    assert rows == sample.climate_rows == 4 * 21


def test_review_records(sample, review_records):
    epoch = dt.date(1970, 1, 1)
    keys = set()
    for r in review_records:
        assert ALWAYS <= r.keys() <= REVIEW_KEYS | {"_category"}, r
        assert type(r["overall"]) is float and r["overall"] in {1.0, 2.0, 3.0, 4.0, 5.0}
        assert type(r["verified"]) is bool
        assert re.fullmatch(r"A[0-9A-Z]{12,13}", r["reviewerID"]), r["reviewerID"]
        assert re.fullmatch(r"[0-9A-Z]{10}", r["asin"]), r["asin"]
        assert type(r["unixReviewTime"]) is int and r["unixReviewTime"] % 86400 == 0
        day = epoch + dt.timedelta(days=r["unixReviewTime"] // 86400)
        assert sample.first_date <= day <= sample.last_date
        assert r["reviewTime"] == f"{day.month:02d} {day.day}, {day.year}"
        if "vote" in r:
            assert re.fullmatch(r"\d{1,3}(,\d{3})*", r["vote"]), r["vote"]
        if "style" in r:
            assert r["style"] and all(k.endswith(":") and v.startswith(" ") for k, v in r["style"].items())
        if "image" in r:
            assert r["image"] and all(u.startswith("https://") for u in r["image"])
        key = (r["reviewerID"], r["asin"], r["unixReviewTime"])
        assert key not in keys, f"duplicate review {key}"
        keys.add(key)

    n = len(review_records)
    share = lambda pred: sum(1 for r in review_records if pred(r)) / n  # noqa: E731
    assert 0.80 < share(lambda r: "style" in r) < 0.90
    assert 0.07 < share(lambda r: "vote" in r) < 0.13
    assert any("," in r.get("vote", "") for r in review_records)
    assert 0.005 < share(lambda r: "image" in r) < 0.04
    assert 0.50 < share(lambda r: r["overall"] == 5.0) < 0.66
    assert 0.05 < share(lambda r: r["overall"] == 1.0) < 0.13
    lengths = sorted(len(r.get("reviewText", "")) for r in review_records)
    assert 100 < lengths[n // 2] < 220 and lengths[-1] > 1000
    reviewers = collections.Counter(r["reviewerID"] for r in review_records)
    assert len(reviewers) < n / 2 and max(reviewers.values()) >= 5  # reviewers come back
    assert {r["_category"] for r in review_records} == {"all_beauty", "appliances"}


def test_products_cover_reviewed_asins(sample, review_records):
    by_category = {}
    for path in sample.product_files:
        records = [json.loads(l) for l in gzip.decompress(path.read_bytes()).splitlines()]
        assert all(list(r) == PRODUCT_KEYS for r in records)
        by_category[path.name.removesuffix(".json.gz")] = records
    asins = {c: {r["asin"] for r in recs} for c, recs in by_category.items()}
    for r in review_records:
        assert r["asin"] in asins[r["_category"]]
    records = [r for recs in by_category.values() for r in recs]
    assert by_category["appliances"][0]["category"][0] == "Appliances"
    assert by_category["all_beauty"][0]["category"][0] == "All Beauty"
    assert all(isinstance(r["rank"], (list, str)) for r in records)
    assert all(re.fullmatch(r"\$\d+\.\d\d", r["price"]) or r["price"] == "" or "-" in r["price"]
               or r["price"].startswith(".") for r in records)
    assert any(r["price"] == "" for r in records)
    assert all(r["also_buy"] == [] and r["details"] == {} and r["tech1"] == "" for r in records)


def test_station_list_is_fixed_width(sample):
    lines = sample.station_list.read_text("ascii").splitlines()
    ids = []
    for line in lines:
        assert len(line) == 85, repr(line)
        assert re.fullmatch(r"USW000\d{5}", line[0:11])
        lat, lon, elev = float(line[12:20]), float(line[21:30]), float(line[31:37])
        assert 18 < lat < 72 and -170 < lon < -65 and (elev >= 0 or elev == -999.9)
        assert line[11] == line[20] == line[30] == line[37] == line[40] == " "
        assert re.fullmatch(r"[A-Z]{2}", line[38:40])
        name = line[41:71].strip()
        assert name and name == name.upper()
        assert line[72:75] in ("GSN", "   ") and line[76:79] in ("HCN", "CRN", "   ")
        assert re.fullmatch(r"\d{5}| {5}", line[80:85])
        ids.append(line[0:11])
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    reporting = {p.stem for p in sample.climate_files}
    assert reporting < set(ids)


def test_climate_csvs(sample):
    days = [sample.first_date + dt.timedelta(days=i) for i in range(21)]
    headers = set()
    for path in sample.climate_files:
        text = path.read_text("ascii")
        for line in text.splitlines():  # every value quoted, missing values empty
            assert re.fullmatch(r'("[^"]*"|)(,("[^"]*"|))*', line), line
        rows = list(csv.DictReader(io.StringIO(text)))
        header = tuple(rows[0])
        assert header[:3] == ("STATION", "NAME", "DATE")
        assert list(header[3:]) == sorted(header[3:])
        headers.add(header)
        assert [r["DATE"] for r in rows] == [d.isoformat() for d in days]
        assert {r["STATION"] for r in rows} == {path.stem}
        for r in rows:
            if r["TMAX"] and r["TMIN"]:
                assert -60 <= int(r["TMIN"]) <= int(r["TMAX"]) <= 125
            assert float(r["PRCP"]) >= 0
            assert all(r[c] in ("", "1") for c in header if c.startswith("WT"))
    assert len(headers) == len(sample.climate_files)  # the column set differs by station


def test_generated_files_parse_without_rejects(sample, review_records):
    reviews = pytest.importorskip("amzn_assets.sources.reviews")
    products = pytest.importorskip("amzn_assets.sources.products")
    stations = pytest.importorskip("amzn_assets.sources.stations")
    climate = pytest.importorskip("amzn_assets.sources.climate")
    from amzn_assets.sources.common import split_lines
    from amzn_assets.sources.inflate import inflate

    root = sample.data_dir
    lines = []
    for path in sample.review_paths():
        source = path.relative_to(root).as_posix()
        lines += split_lines(inflate(path.read_bytes()), source, path.parent.name)
    result = reviews.parse_reviews(lines, today=sample.last_date)
    assert result.rejected == [] and result.table.num_rows == sample.review_files
    assert set(result.table["category"].to_pylist()) == set(sample.categories)

    for path in sample.product_files:
        result = products.parse_products(inflate(path.read_bytes()), path.name)
        assert result.rejected == [] and result.table.num_rows == sample.products // 2
        assert result.table["title"].null_count == 0

    result = stations.parse_stations(sample.station_list.read_bytes(), "ghcnd-stations.txt")
    assert result.rejected == [] and result.table.num_rows == sample.stations
    assert result.table["elevation"].null_count == 1  # the -999.9 marker

    rows = 0
    for path in sample.climate_files:
        result = climate.parse_climate_csv(path.read_bytes(), path.name)
        assert result.rejected == []
        assert result.table["tmax"].null_count < result.table.num_rows
        rows += result.table.num_rows
    assert rows == sample.climate_rows
