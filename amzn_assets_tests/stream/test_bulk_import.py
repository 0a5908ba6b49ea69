"""Bulk import of whole dumps: exactly once, all or nothing, then a backfill over the dump's days."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.landing.bulk import ImportFailed, import_dump
from amzn_assets.landing.intake import Lander
from amzn_assets.landing.readers import LandedReader
from amzn_assets.backends.local.query import run_query
from amzn_assets_tests.conftest import FIXTURES
from amzn_assets_tests.warehouse_files import days_stored
from amzn_assets_tests.webserver import env_for

pytest.importorskip("amzn_assets.sources.dumps")

BEAUTY = FIXTURES / "All_Beauty_5.json.gz"
BEAUTY_ROWS = 5269
BEAUTY_UNIQUE = 4239  # distinct reviews: the 5-core file repeats 1,030 records exactly (review_identity)
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def reader(dirs) -> LandedReader:
    lander = Lander(dirs)
    return LandedReader(lander.ledger, lander.segments)


def all_days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [date.fromordinal(d).isoformat() for d in range(start.toordinal(), end.toordinal() + 1)]


def test_import_twice_lands_the_dump_once(dirs):
    first = import_dump(Lander(dirs), BEAUTY, category="all_beauty")
    assert (first.rows, first.rejected, first.duplicate_of) == (BEAUTY_ROWS, 0, None)
    assert first.days[0] == "2004-09-21" and first.days[-1] == "2018-08-23"
    segments = list((dirs.landed / "reviews").rglob("*.parquet"))
    assert segments and all(p.parent.name.startswith("review_month=") for p in segments)
    assert len(segments) < 200, "a dump lands as month segments, not one file per day"

    second = import_dump(Lander(dirs), BEAUTY, category="all_beauty")
    assert second.duplicate_of == str(BEAUTY.resolve()) and second.rows == 0
    assert Lander(dirs).ledger.file_status_counts() == {"landed": 1, "duplicate": 1}

    rows, merged = reader(dirs).reviews(all_days(first.days[0], first.days[-1]))
    assert (rows.num_rows, merged) == (BEAUTY_UNIQUE, BEAUTY_ROWS - BEAUTY_UNIQUE)
    assert set(rows["category"].to_pylist()) == {"all_beauty"}


def test_a_truncated_dump_imports_nothing(dirs, tmp_path):
    broken = tmp_path / "broken.json.gz"
    broken.write_bytes(BEAUTY.read_bytes()[:-5000])
    with pytest.raises(ImportFailed, match="nothing imported"):
        import_dump(Lander(dirs), broken, category="all_beauty")
    assert not list((dirs.landed / "reviews").rglob("*.parquet")) if (dirs.landed / "reviews").exists() else True
    ledger = Lander(dirs).ledger
    assert ledger.file_status_counts() == {} and ledger.open_batches() == []


def test_bad_lines_of_a_dump_are_quarantined_with_their_line(dirs, tmp_path):
    lines = gzip.decompress(BEAUTY.read_bytes()).splitlines()[:100]
    lines[9] = b'{"asin": "B1", "overall": 9.0, "reviewerID": "A1", "unixReviewTime": 1400000000}'
    lines[49] = b"not json"
    dump = tmp_path / "mixed.json.gz"
    dump.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    report = import_dump(Lander(dirs), dump, category="all_beauty")
    assert (report.rows, report.rejected) == (98, 2)
    quarantined = [(q["line"], q["reason"].split(":")[0]) for q in Lander(dirs).ledger.quarantined()]
    assert quarantined == [(10, "overall out of range 1-5"), (50, "invalid JSON")]


def test_products_dump_import(dirs):
    report = import_dump(Lander(dirs), FIXTURES / "meta_Appliances_sample100.json.gz", kind="products")
    assert report.rows == 100
    assert reader(dirs).product_metadata().num_rows == 100


def test_backfill_over_two_years_of_an_imported_dump(dirs):
    import_dump(Lander(dirs), BEAUTY, category="all_beauty")
    first, last = "2016-01-01", "2017-12-31"
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            all_assets,
            selection=["landed_reviews", "users", "products", "datetime", "reviews_fact"],
            resources=resources_for("local", str(dirs.root)),
            instance=instance,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        )
        assert result.success
        runs = instance.get_runs()
    assert len(runs) == 1, "a backfill over 731 days is one run"
    landed, _ = reader(dirs).reviews(all_days(first, last))
    fact = run_query(
        dirs.warehouse,
        f"SELECT count(*), count(DISTINCT review_id) FROM reviews_fact "
        f"WHERE category = 'all_beauty' AND review_date BETWEEN '{first}' AND '{last}'",
    ).rows
    assert fact == [(landed.num_rows, landed.num_rows)] and landed.num_rows > 1000
    # One file per month with reviews; an empty day of the range is stored as no rows (docs/data-model.md).
    days_with_reviews = {d.isoformat() for d in landed["review_date"].to_pylist()}
    assert days_stored(dirs.warehouse / "reviews_fact") == days_with_reviews
    assert {p.stem for p in (dirs.warehouse / "reviews_fact").glob("*.parquet")} == {d[:7] for d in days_with_reviews}


@pytest.mark.timeout(300)
def test_cli_import_twice_then_cli_backfill_then_query(dirs, tmp_path):
    """The issue's acceptance path, on a two-month slice of the real dump to keep the suite fast."""
    january_february_2017 = range(1483228800, 1488326400)
    lines = [
        line for line in gzip.decompress(BEAUTY.read_bytes()).splitlines()
        if json.loads(line)["unixReviewTime"] in january_february_2017
    ]
    dump = tmp_path / "slice.json.gz"
    dump.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    env = env_for(dirs, tmp_path / "home")
    cli = [str(BIN / "amzn-assets")]
    for _ in range(2):
        imported = subprocess.run([*cli, "import", str(dump), "--category", "beauty_slice"], env=env, capture_output=True, text=True, timeout=120)
        assert imported.returncode == 0, imported.stderr
    days = sorted(Lander(dirs).ledger.partitions_of_batches(Lander(dirs).ledger.committed_batches("reviews")))
    backfill = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "amzn_assets", "--select", "*reviews_fact",
         "--partition-range", f"{days[0]}...{days[-1]}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    assert backfill.returncode == 0, backfill.stderr[-3000:]
    counted = subprocess.run(
        [*cli, "query", "--csv", "select count(*) from reviews_fact where category = 'beauty_slice'"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    unique, _ = reader(dirs).reviews(days)
    assert counted.stdout.splitlines() == ["count_star()", str(unique.num_rows)]
    assert unique.num_rows > 50
