"""The analysis assets against plain SQL: two months of generated reviews and climate materialized
through the daily assets, then the analysis months; every figure of February recomputed with SQL
over reviews_fact, products and climate (the same query on DuckDB and PostgreSQL) must match."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from statistics import NormalDist

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, Definitions, evaluate_automation_conditions, materialize

from amzn_assets.backends.local.query import run_query
from amzn_assets.backends.postgres.query import run_postgres_query
from amzn_assets.generate import generate_sample
from amzn_assets_tests.backends.test_postgres_backend import in_schema, pg_schema  # noqa: F401 (a fixture)
from amzn_assets_tests.deployment import all_assets, analysis, resources_for

DAYS = {"dagster/asset_partition_range_start": "2018-01-10", "dagster/asset_partition_range_end": "2018-02-20"}
MONTHS = {"dagster/asset_partition_range_start": "2018-01-01", "dagster/asset_partition_range_end": "2018-02-01"}
FEB = "DATE '2018-02-01'"
MARCH = "DATE '2018-03-01'"
Z = NormalDist().inv_cdf(0.975)

COUNTS_SQL = """
    SELECT category, asin, count(*) AS reviews, avg(rating) AS mean_rating,
           avg(CASE WHEN rating >= 4 THEN 1.0 ELSE 0.0 END) AS positive_share
    FROM reviews_fact WHERE review_date >= {start} AND review_date < {end}
    GROUP BY category, asin
"""
TRENDS_SQL = f"""
    SELECT review_date, category, count(*) AS reviews, avg(rating) AS mean_rating,
           {", ".join(f"sum(CASE WHEN rating = {n} THEN 1 ELSE 0 END) AS stars_{n}" for n in range(1, 6))}
    FROM reviews_fact WHERE review_date >= {FEB} AND review_date < {MARCH}
    GROUP BY review_date, category
"""
DAILY = f"""
    WITH weather AS (
        SELECT "date" AS day, count(DISTINCT CASE WHEN tmax IS NOT NULL OR tmin IS NOT NULL OR prcp IS NOT NULL THEN station_id END) AS stations,
               avg(tmax) AS tmax_mean, avg(tmin) AS tmin_mean, avg(prcp) AS prcp_mean
        FROM climate WHERE "date" >= {FEB} AND "date" < {MARCH} GROUP BY "date"
    ),
    volume AS (
        SELECT review_date AS day, category, count(*) AS reviews
        FROM reviews_fact WHERE review_date >= {FEB} AND review_date < {MARCH} GROUP BY review_date, category
    ),
    days AS (SELECT day FROM weather UNION SELECT day FROM volume),
    categories AS (SELECT DISTINCT category FROM volume),
    daily AS (
        SELECT d.day, c.category, coalesce(v.reviews, 0) AS reviews, coalesce(w.stations, 0) AS stations,
               w.tmax_mean, w.tmin_mean, w.prcp_mean
        FROM days AS d CROSS JOIN categories AS c
        LEFT JOIN volume AS v ON v.day = d.day AND v.category = c.category
        LEFT JOIN weather AS w ON w.day = d.day
    )
"""
EFFECT_SQL = DAILY + "SELECT * FROM daily"
CORRELATION_SQL = DAILY + """
    SELECT category, count(*) AS days,
           count(tmax_mean) AS tmax_days, corr(reviews, tmax_mean) AS reviews_tmax_corr,
           count(tmin_mean) AS tmin_days, corr(reviews, tmin_mean) AS reviews_tmin_corr,
           count(prcp_mean) AS prcp_days, corr(reviews, prcp_mean) AS reviews_prcp_corr
    FROM daily GROUP BY category
"""


def rows(query, sql: str) -> list[dict]:
    result = query(sql)
    return [dict(zip(result.columns, (float(v) if isinstance(v, Decimal) else v for v in row))) for row in result.rows]


def february(query, table: str) -> list[dict]:
    return rows(query, f"SELECT * FROM {table} WHERE month = {FEB}")


def close(a, b) -> bool:
    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
        return a == b
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def assert_same(found: dict, expected: dict, what: str) -> None:
    for column, value in expected.items():
        assert close(found[column], value), (what, column, found[column], value)


def wilson(positive_share: float, n: int) -> float:
    p = positive_share
    return (p + Z * Z / (2 * n) - Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))) / (1 + Z * Z / n)


def ranked(counts: list[dict]) -> dict[tuple, int]:
    by_category: dict[str, list[dict]] = {}
    for row in counts:
        by_category.setdefault(row["category"], []).append(row)
    ranks = {}
    for category, members in by_category.items():
        members.sort(key=lambda r: (-wilson(r["positive_share"], r["reviews"]), -r["reviews"], r["asin"]))
        ranks |= {(category, r["asin"]): n for n, r in enumerate(members, 1)}
    return ranks


def check_every_figure(query) -> None:
    counts = rows(query, COUNTS_SQL.format(start=FEB, end=MARCH))
    before = {(r["category"], r["asin"]): r for r in rows(query, COUNTS_SQL.format(start="DATE '2018-01-01'", end=FEB))}
    ranks, ranks_before = ranked(counts), ranked(list(before.values()))
    titles = {r["asin"]: r["title"] for r in rows(query, "SELECT asin, title FROM products")}
    popularity = {(r["category"], r["asin"]): r for r in february(query, "product_popularity")}
    assert len(popularity) == len(counts) > 50
    for row in counts:
        key = (row["category"], row["asin"])
        previous = before.get(key)
        assert_same(popularity[key], row | {
            "wilson_lower": wilson(row["positive_share"], row["reviews"]), "category_rank": ranks[key], "title": titles.get(row["asin"]),
            "previous_reviews": previous and previous["reviews"], "reviews_change": previous and row["reviews"] - previous["reviews"],
            "previous_rank": previous and ranks_before[key], "rank_change": previous and ranks_before[key] - ranks[key],
        }, key)
    assert any(r["previous_rank"] is not None for r in popularity.values()) and any(r["title"] for r in popularity.values())

    trends = {(r["review_date"], r["category"]): r for r in february(query, "category_trends")}
    expected = rows(query, TRENDS_SQL)
    assert len(trends) == len(expected) > 20
    for row in expected:
        assert_same(trends[(row["review_date"], row["category"])], row, row)

    effect = {(r["review_date"], r["category"]): r for r in february(query, "weather_effect")}
    expected = rows(query, EFFECT_SQL)
    assert len(effect) == len(expected) and any(r["stations"] for r in expected)
    for row in expected:
        assert_same(effect[(row.pop("day"), row["category"])], row, row)

    correlation = {r["category"]: r for r in february(query, "weather_correlation")}
    expected = rows(query, CORRELATION_SQL)
    assert len(correlation) == len(expected) == 2 and all(r["reviews_tmax_corr"] is not None for r in expected)
    for row in expected:
        assert_same(correlation[row["category"]], row, row)


def materialize_two_months(dirs, resources) -> None:
    generate_sample(dirs.root, seed=11, start=dt.date(2018, 1, 10), days=42, reviews=2500, stations=3)
    with DagsterInstance.ephemeral() as instance:
        assert materialize(all_assets, instance=instance, resources=resources, tags=DAYS).success
        result = materialize([*all_assets, *analysis], instance=instance, resources=resources, tags=MONTHS,
                             selection=AssetSelection.groups("analysis"))
        assert result.success
        feb = [m for m in result.asset_materializations_for_node("product_popularity") if m.partition == "2018-02-01"][0]
        assert feb.metadata["top_products_chart"].value.startswith("![Top products, 2018-02](data:image/png;base64,iVBOR")


def test_every_figure_matches_plain_sql_on_parquet(dirs):
    materialize_two_months(dirs, resources_for("local", str(dirs.root)))
    check_every_figure(lambda sql: run_query(dirs.warehouse, sql))


@pytest.mark.timeout(300)
def test_every_figure_matches_plain_sql_on_postgres(dirs, postgres_url, pg_schema):  # noqa: F811
    resources = resources_for("postgres", str(dirs.root), postgres_url=postgres_url, ledger_url=in_schema(postgres_url, pg_schema))
    materialize_two_months(dirs, resources)
    check_every_figure(lambda sql: run_postgres_query(postgres_url, pg_schema, sql))


def test_the_months_follow_new_days_through_their_automation(dirs):
    """analysis_automation's condition: a month is requested when one of its days is written again (any
    month, not only the latest), and nothing twice for the same change."""
    generate_sample(dirs.root, seed=5, start=dt.date(2018, 1, 28), days=6, reviews=300, stations=2)
    resources = resources_for("local", str(dirs.root))
    graph = Definitions(assets=[*all_assets, *analysis], resources=resources)
    selection = AssetSelection.groups("analysis")
    with DagsterInstance.ephemeral() as instance:
        first = evaluate_automation_conditions(graph, instance, asset_selection=selection)
        assert first.total_requested == 0  # nothing written yet
        assert materialize(all_assets, instance=instance, resources=resources,
                           tags={"dagster/asset_partition_range_start": "2018-01-28", "dagster/asset_partition_range_end": "2018-02-02"}).success
        second = evaluate_automation_conditions(graph, instance, asset_selection=selection, cursor=first.cursor)
        names = ("product_popularity", "category_trends", "weather_effect", "weather_correlation")
        requested = {name: set(second.get_requested_partitions(AssetKey(name))) for name in names}
        requested = {name: keys for name, keys in requested.items() if keys}
        both = {"2018-01-01", "2018-02-01"}
        # Downstream analysis months in the same tick (Dagster's any_deps_updated counts an upstream
        # requested now), run after their upstream; product_popularity's March reads February as its
        # month before.
        assert requested == {"category_trends": both, "weather_effect": both, "weather_correlation": both,
                             "product_popularity": both | {"2018-03-01"}}, requested
        again = evaluate_automation_conditions(graph, instance, asset_selection=selection, cursor=second.cursor)
        assert again.total_requested == 0  # the same change is not requested twice


def test_a_chart_and_its_table_take_any_title():
    import pyarrow as pa

    from amzn_assets.analysis.charts import top_products_chart
    from amzn_assets.domains.analysis.assets import top_markdown
    from amzn_assets.tables import PRODUCT_POPULARITY

    rows = pa.Table.from_pylist([{
        "month": dt.date(2018, 1, 1), "category": "a|b", "asin": "B01", "title": "Save $5 on 2 $10 packs | \\frac{ 日本",
        "reviews": 3, "mean_rating": 4.0, "positive_share": 1.0, "wilson_lower": 0.44,
    }], PRODUCT_POPULARITY.schema)
    assert top_products_chart(rows, "2018-01").startswith(b"\x89PNG")  # matplotlib would read $...$ as math
    table = top_markdown(rows).splitlines()
    assert table[2].count(" | ") == 5 and "a\\|b" in table[2]  # six cells: the | in the title is escaped
