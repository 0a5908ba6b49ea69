"""Review identity on the real All Beauty excerpt: records equal in reviewer, asin, time, style,
rating, summary and text are one review (the later copy wins); every other record is a review of
its own and reaches reviews_fact, by import and by streamed one-review files."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets import tables
from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.bulk import import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.domains.stream.job import stream_job
from amzn_assets.sources.dumps import iter_review_dump
from amzn_assets.transforms.review_identity import REVIEW_ID_SQL, review_ids
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests import beauty_reviews as beauty

REPO = Path(__file__).resolve().parents[2]
# One reviewer, one day, two products, each reviewed twice: 3 stars for the 8.5oz size, 5 stars for
# the Small one (different summary and text). The old key (asin, reviewer, time) kept one of each.
VARIANTS = ("ARPSCXPD7FYZ4", dt.date(2018, 5, 19), "B000URXP6E")
# Among this reviewer's nine records of one product that day: three identical in the seven fields,
# with votes 12, none, 2 in file order.
REPEATED = ("AKJHHD5VEH7VG", dt.date(2008, 5, 25), "B007V6JNE0")


def repeated_copies() -> list[dict]:
    same_day = [r for r in beauty.records() if (r["reviewerID"], beauty.day_of(r), r["asin"]) == REPEATED]
    first = next(r for r in same_day if r.get("vote") == "12")
    return [r for r in same_day if beauty.identity(r) == beauty.identity(first)]


def test_the_excerpt_holds_reviews_the_old_key_merged():
    records = beauty.records()
    old_key = {(r["asin"], r["reviewerID"], r["unixReviewTime"]) for r in records}
    assert (len(records), len(beauty.distinct_reviews()), len(old_key)) == (5269, 4239, 4161)


def test_review_ids_follow_the_documented_recipe_in_row_order():
    parsed = pa.concat_tables(r.table for r in iter_review_dump(beauty.BEAUTY, category="all_beauty", source="x"))
    ids = review_ids(parsed).to_pylist()
    assert ids == [beauty.review_id(r) for r in beauty.records()]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_the_encoding_is_unambiguous():
    base = {
        "review_date": dt.date(2018, 1, 2), "review_time": dt.datetime(2018, 1, 2, tzinfo=dt.timezone.utc),
        "asin": "B1", "reviewer_id": "A1", "rating": 5, "style": None, "summary": "ab", "review_text": "c",
    }
    variants = [
        base,
        base | {"summary": "a", "review_text": "bc"},  # same concatenation without lengths
        base | {"summary": "", "review_text": "c"},
        base | {"summary": None, "review_text": "c"},  # null is not empty
        base | {"style": '{"Size":"S"}'},
        base | {"style": ""},
        base | {"review_time": dt.datetime(2018, 1, 2, 0, 0, 1, tzinfo=dt.timezone.utc)},
        base | {"asin": "A1", "reviewer_id": "B1"},  # fields swapped
    ]
    ids = review_ids(pa.Table.from_pylist(variants, schema=tables.PARSED_REVIEW_SCHEMA)).to_pylist()
    assert len(set(ids)) == len(variants)
    again = review_ids(pa.Table.from_pylist(variants[::-1], schema=tables.PARSED_REVIEW_SCHEMA)).to_pylist()
    assert again == ids[::-1]  # a row's id depends on the row alone


def _normalized(sql: str) -> str:
    return " ".join(sql.split())


def test_docs_and_the_postgres_migration_state_the_sql_the_code_runs():
    assert _normalized(REVIEW_ID_SQL) in _normalized((REPO / "docs" / "data-model.md").read_text())
    assert _normalized(REVIEW_ID_SQL) in _normalized((REPO / "sql" / "postgres" / "schema.sql").read_text())


def _materialize(dirs, selection, **kwargs):
    with DagsterInstance.ephemeral() as instance:
        result = materialize(all_assets, selection=selection, resources=resources_for("local", str(dirs.root)), instance=instance, **kwargs)
    assert result.success


def _fact_rows(dirs, where: str = "true") -> list[dict]:
    result = run_query(dirs.warehouse, f"SELECT * FROM reviews_fact WHERE {where}")
    return [dict(zip(result.columns, row)) for row in result.rows]


def _check_variants_and_repeat(facts: list[dict]) -> None:
    variants = sorted((f["rating"], f["summary"], f["style"]) for f in facts if (f["reviewer_id"], f["review_date"], f["asin"]) == VARIANTS)
    assert variants == [(3, "Incomplete Decision", '{"Size":"8.5oz"}'), (5, "Great Product", '{"Size":"Small"}')]

    copies = repeated_copies()
    assert [r.get("vote") for r in copies] == ["12", None, "2"]
    kept = [f for f in facts if f["review_id"] == beauty.review_id(copies[0])]
    assert [(f["vote"], f["verified"]) for f in kept] == [(2, True)]  # the last copy's
    same_day = [f for f in facts if (f["reviewer_id"], f["review_date"], f["asin"]) == REPEATED]
    assert len(same_day) == 6  # nine records, six distinct reviews


@pytest.mark.timeout(600)
def test_an_imported_dump_keeps_every_distinct_review_in_reviews_fact(dirs):
    import_dump(Lander(dirs), beauty.BEAUTY, category="all_beauty")
    expected = beauty.distinct_reviews()

    # The whole excerpt in one stream_job run: exactly its 883 days with reviews (a range run over
    # 2004-2018 would record ~5,000 days x 5 assets, and the reference checks need the dimensions).
    with DagsterInstance.ephemeral() as instance:
        assert stream_job.execute_in_process(instance=instance, resources=resources_for("local", str(dirs.root))).success
    facts = _fact_rows(dirs)
    assert len(facts) == len(expected) == 4239
    assert sorted(f["review_id"] for f in facts) == sorted(beauty.review_id(r) for r in expected.values())
    assert run_query(dirs.warehouse, "SELECT count(DISTINCT review_id) FROM reviews_fact").rows == [(4239,)]
    _check_variants_and_repeat(facts)
    # Every kept row is its review's last record: its vote, verification and images.
    latest = {beauty.review_id(r): r for r in expected.values()}
    for fact in facts:
        record = latest[fact["review_id"]]
        assert fact["vote"] == (int(record["vote"].replace(",", "")) if record.get("vote") else None)
        assert (fact["verified"], fact["image_count"]) == (record["verified"], len(record.get("image", [])))
    assert run_query(dirs.warehouse, "SELECT count(*) FROM landed_reviews").rows == [(4239,)]


def _one_review_file(dirs, name: str, record: dict) -> None:
    path = dirs.uploaded / "reviews" / "all_beauty" / f"{name}.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(record).encode() + b"\n", mtime=0))


def test_streamed_one_review_files_keep_every_distinct_review_and_a_later_copy_wins(dirs):
    days = [VARIANTS[1], REPEATED[1]]
    for n, record in enumerate(r for r in beauty.records() if beauty.day_of(r) in days):
        _one_review_file(dirs, f"all_beauty-{n:09d}", record)
    for day in days:
        _materialize(dirs, ["landed_reviews", "users", "products", "datetime", "reviews_fact"], partition_key=day.isoformat())
    for day in days:
        facts = _fact_rows(dirs, f"review_date = DATE '{day}'")
        expected = beauty.distinct_reviews(day, day)
        assert sorted(f["review_id"] for f in facts) == sorted(beauty.review_id(r) for r in expected.values()), day
    variants = {(f["rating"], f["summary"]) for f in _fact_rows(dirs) if (f["reviewer_id"], f["review_date"], f["asin"]) == VARIANTS}
    assert variants == {(3, "Incomplete Decision"), (5, "Great Product")}

    # The repeated review uploaded once more, later, with another vote: still one row, with that vote.
    copy = repeated_copies()[0]
    day = REPEATED[1]
    _one_review_file(dirs, "later-copy", copy | {"vote": "1,341", "verified": False})
    rows_before = len(_fact_rows(dirs, f"review_date = DATE '{day}'"))
    _materialize(dirs, ["landed_reviews", "users", "products", "datetime", "reviews_fact"], partition_key=day.isoformat())
    facts = _fact_rows(dirs, f"review_date = DATE '{day}'")
    kept = [f for f in facts if f["review_id"] == beauty.review_id(copy)]
    assert len(facts) == rows_before
    assert [(f["vote"], f["verified"]) for f in kept] == [(1341, False)]
