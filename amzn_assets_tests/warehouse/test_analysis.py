"""The analysis queries in sql/analysis/ over a materialized sample, checked against pandas."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from dagster import DagsterInstance, materialize

from amzn_assets_tests.deployment import all_assets, resources_for
from amzn_assets.backends.local.query import run_query

ANALYSIS = Path(__file__).resolve().parents[2] / "sql" / "analysis"


@pytest.fixture
def warehouse(dirs, sample):
    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            all_assets,
            resources=resources_for("local", str(dirs.root)),
            instance=instance,
            tags={"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-01-05"},
        )
        assert result.success
    return dirs.warehouse


def frame(warehouse: Path, table: str) -> pd.DataFrame:
    return pq.read_table(warehouse / table).to_pandas()


def test_top_products(warehouse):
    result = run_query(warehouse, (ANALYSIS / "top_products.sql").read_text())
    fact = frame(warehouse, "reviews_fact")
    stats = fact.groupby("asin").rating.agg(["count", "mean"])
    eligible = stats[stats["count"] >= 5]
    assert eligible.shape[0] > 0, "the sample should have products with 5+ reviews"
    expected = eligible.assign(avg=eligible["mean"].map(lambda m: math.floor(m * 100 + 0.5) / 100))
    expected = expected.reset_index().sort_values(["avg", "count", "asin"], ascending=[False, False, True]).head(20)
    got = [(r[0], r[4], float(r[5])) for r in result.rows]
    assert got == [(a, int(c), v) for a, c, v in zip(expected.asin, expected["count"], expected.avg)]
    assert result.columns == ["asin", "title", "brand", "category", "review_count", "avg_rating"]
    assert all(row[1] for row in result.rows), "every top product has its metadata title"


def test_rating_by_temperature(warehouse):
    result = run_query(warehouse, (ANALYSIS / "rating_by_temperature.sql").read_text())
    fact = frame(warehouse, "reviews_fact")
    climate = frame(warehouse, "climate")
    tmax = climate.dropna(subset=["tmax"]).groupby("date").tmax.mean()
    fact = fact.assign(bucket=fact.review_date.map(lambda d: int(math.floor(tmax[d] / 10) * 10) if d in tmax else None))
    fact = fact.dropna(subset=["bucket"])
    expected = fact.groupby("bucket").agg(n=("rating", "size"), days=("review_date", "nunique"))
    assert [(r[0], r[1], r[3]) for r in result.rows] == [
        (int(b), int(row.n), int(row.days)) for b, row in expected.iterrows()
    ]
    assert sum(r[1] for r in result.rows) == len(fact) > 0
