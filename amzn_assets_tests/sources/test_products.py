"""parse_products on the real Appliances metadata sample and on crafted records."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pyarrow.compute as pc
import pytest

from amzn_assets.sources.common import SourceFileError
from amzn_assets.sources.products import parse_products
from amzn_assets.tables import LANDED_PRODUCT_SCHEMA

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def appliances():
    data = gzip.decompress((FIXTURES / "meta_Appliances_sample100.json.gz").read_bytes())
    result = parse_products(data, "meta_Appliances_sample100.json.gz")
    return result, {row["asin"]: row for row in result.table.to_pylist()}


def one(record: dict) -> dict:
    result = parse_products(orjson.dumps(record), "crafted.json")
    assert result.rejected == []
    return result.table.to_pylist()[0]


def test_sample_parses_whole(appliances):
    result, _ = appliances
    assert result.table.schema == LANDED_PRODUCT_SCHEMA
    assert result.table.num_rows == 100
    assert result.rejected == []
    # 63 prices are filled in; one of them is CSS junk, not a price
    assert result.table["price"].null_count == 100 - 62


def test_sample_values(appliances):
    _, rows = appliances
    first = rows["7301113188"]
    assert first["title"] == "Tupperware Freezer Square Round Container Set of 6"
    assert first["price"] is None  # ""
    assert (first["sales_rank"], first["rank_category"]) == (39745, "Appliances")
    assert first["category"] == "Refrigerators, Freezers & Ice Makers"
    assert first["category_path"] == "Appliances > Refrigerators, Freezers & Ice Makers"
    assert first["description"] is None  # []
    assert first["features"].split("\n")[0].startswith("Each 3-pc. set includes")

    pure_fresh = next(r for r in rows.values() if r["price"] == 3.62)
    assert pure_fresh["title"].startswith("2 X Tupperware Pure & Fresh")  # was "&amp;"
    assert (pure_fresh["sales_rank"], pure_fresh["rank_category"]) == (6118, "Appliances")
    assert not any("&amp;" in (r["title"] or "") + (r["category_path"] or "") for r in rows.values())


def test_sample_rank_string_form(appliances):
    _, rows = appliances
    by_rank = {r["sales_rank"]: r for r in rows.values()}
    # rank is a plain string on five records: "484 in Appliances ("
    assert by_rank[484]["rank_category"] == "Appliances"
    assert by_rank[498342]["rank_category"] == "Industrial & Scientific"  # "&amp;" unescaped
    assert by_rank[1841071]["rank_category"] == "Tools & Home Improvement"
    # three records have "rank": []
    assert sum(r["sales_rank"] is None for r in rows.values()) == 3


def test_price_forms():
    base = {"asin": "B1"}
    assert one({**base, "price": "$3.62"})["price"] == 3.62
    assert one({**base, "price": "$1,299.00"})["price"] == 1299.0
    assert one({**base, "price": " $15 "})["price"] == 15.0
    assert one({**base, "price": 4.5})["price"] == 4.5
    for junk in ["", "$10.99 - $15.99", ".a-box-inner{background-color:#fff}", "3.62", "$1,29"]:
        assert one({**base, "price": junk})["price"] is None, junk


def test_rank_forms():
    base = {"asin": "B1"}
    row = one({**base, "rank": [">#39,745 in Appliances (See top 100)", ">#5 in Appliances > Parts"]})
    assert (row["sales_rank"], row["rank_category"]) == (39745, "Appliances")
    row = one({**base, "rank": "1,234 in Beauty & Personal Care ("})
    assert (row["sales_rank"], row["rank_category"]) == (1234, "Beauty & Personal Care")
    row = one({**base, "rank": ">#2 in Home &amp; Kitchen &gt; Humidifiers"})
    assert (row["sales_rank"], row["rank_category"]) == (2, "Home & Kitchen > Humidifiers")
    for empty in [[], "", "not ranked", None]:
        row = one({**base, "rank": empty})
        assert (row["sales_rank"], row["rank_category"]) == (None, None), empty


def test_text_fields():
    row = one(
        {
            "asin": " B1 ",
            "title": " Holmes &quot;A&quot; Filter &amp; Co ",
            "brand": "",
            "main_cat": "Tools &amp; Home Improvement",
            "category": ["Appliances", "Parts &amp; Accessories", ""],
            "description": ["First.", "", " Second &lt;b&gt; "],
            "feature": [],
            "unknown": {"ignored": True},
        }
    )
    assert row["asin"] == "B1"
    assert row["title"] == 'Holmes "A" Filter & Co'
    assert row["brand"] is None
    assert row["main_cat"] == "Tools & Home Improvement"
    assert row["category"] == "Parts & Accessories"
    assert row["category_path"] == "Appliances > Parts & Accessories"
    assert row["description"] == "First.\nSecond <b>"
    assert row["features"] is None


def test_main_cat_markup():
    img = '<img src="https://x/amazon-fashion.png" class="nav-categ-image" alt="AMAZON FASHION"/>'
    assert one({"asin": "B1", "main_cat": img})["main_cat"] == "AMAZON FASHION"
    assert one({"asin": "B1", "main_cat": '<img src="x.png"/>'})["main_cat"] is None


def test_json_array_file():
    records = [{"asin": "B1", "title": "One"}, {"asin": "B2", "price": "$2.00"}, {"title": "no asin"}]
    result = parse_products(b"  \n" + orjson.dumps(records), "meta.json")
    assert result.table["asin"].to_pylist() == ["B1", "B2"]
    assert [(r.line, r.reason) for r in result.rejected] == [(3, "missing asin")]
    with pytest.raises(SourceFileError, match="invalid JSON array"):
        parse_products(b'[{"asin": "B1"},', "meta.json")


def test_rejects_and_duplicates():
    data = b"\n".join(
        [
            b'{"asin": "B1", "title": "old"}',
            b'{"asin": "B1", "title": "new"}',
            b"{not json",
            b'{"asin": "\xff"}',
            b'"B3"',
            b'{"title": "no asin"}',
            b'{"asin": ""}',
            b"",
            b'{"asin": "B2"}',
        ]
    )
    result = parse_products(data, "meta.json")
    rows = result.table.to_pylist()
    assert [(r["asin"], r["title"]) for r in rows] == [("B1", "new"), ("B2", None)]
    assert [(r.line, r.reason.split(":")[0]) for r in result.rejected] == [
        (3, "invalid JSON"),
        (4, "not valid UTF-8"),
        (5, "not a JSON object"),
        (6, "missing asin"),
        (7, "missing asin"),
    ]


def test_empty_result_has_schema():
    result = parse_products(b"\n", "meta.json")
    assert result.table.schema == LANDED_PRODUCT_SCHEMA and result.table.num_rows == 0
    assert pc.count(result.table["asin"]).as_py() == 0
