"""The monthly analysis assets. Each reads the days of its months through the warehouse's IO manager
(only the columns it needs), computes with amzn_assets.analysis, writes through the same IO manager
(any backend), and records per month a chart and the figures a user reads first.

A month's partition key is its first day (YYYY-MM-01, the tables' `month` column), so the IO managers
store a month like a day; the latest month is the one still filling (end_offset=1): the stream's
new days update it. product_popularity also reads the month before (its changes)."""

from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
from dagster import AssetExecutionContext, AssetIn, AssetsDefinition, BackfillPolicy, MetadataValue, MonthlyPartitionsDefinition, TimeWindowPartitionMapping, asset

from amzn_assets import tables
from amzn_assets.analysis import charts, popularity, trends, weather
from amzn_assets.chunks import TableChunks
from amzn_assets.domains.analysis.automation import analysis_condition
from amzn_assets.settings import Settings
from amzn_assets.wiring import groups
from amzn_assets.wiring.partitions import FIRST_REVIEW_DAY
from amzn_assets.wiring.policies import TRANSIENT_RETRY
from amzn_assets.wiring.table_assets import writes_warehouse

analysis_months = MonthlyPartitionsDefinition(start_date=FIRST_REVIEW_DAY, fmt="%Y-%m-%d", end_offset=1)
WITH_MONTH_BEFORE = TimeWindowPartitionMapping(start_offset=-1, allow_nonexistent_upstream_partitions=True)
TOP_SHOWN = 10


def months_of(context: AssetExecutionContext) -> list[date]:
    return [date.fromisoformat(key) for key in context.partition_keys]


def of_month(table: pa.Table, month: date) -> pa.Table:
    return table.filter(pc.equal(table["month"], pa.scalar(month, pa.date32())))


def record_months(context: AssetExecutionContext, table: pa.Table, describe) -> None:
    """Each month's own metadata (describe(rows of the month, "YYYY-MM") -> dict), on its materialization."""
    for month in months_of(context):
        rows = of_month(table, month)
        meta = describe(rows, month.isoformat()[:7]) if rows.num_rows else {"note": "no rows this month"}
        context.add_asset_metadata(meta, partition_key=month.isoformat())


def cell(text: str) -> str:
    """Text for a markdown table cell: a | in a title would end the cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def top_markdown(rows: pa.Table) -> str:
    top = popularity.top_products(rows, TOP_SHOWN)
    lines = ["| # | product | category | reviews | mean | 4-5★ lower bound |", "|---:|---|---|---:|---:|---:|"]
    for n, r in enumerate(top.to_pylist(), 1):
        name = cell(f"{(r['title'] or r['asin'])[:60]} ({r['asin']})")
        lines.append(f"| {n} | {name} | {cell(r['category'])} | {r['reviews']} | {r['mean_rating']:.2f} | {r['wilson_lower']:.3f} |")
    return "\n".join(lines)


def product_popularity(context: AssetExecutionContext, reviews_fact: TableChunks, products: TableChunks) -> pa.Table:
    counts = popularity.combine_counts(popularity.month_counts(chunk) for chunk in reviews_fact)
    table = popularity.product_popularity(counts, popularity.latest_titles(products), months_of(context))
    record_months(context, table, lambda rows, month: {
        "top_products_chart": MetadataValue.md(charts.markdown_image(charts.top_products_chart(rows, month), f"Top products, {month}")),
        "top_products": MetadataValue.md(top_markdown(rows)),
        "products_reviewed": rows.num_rows,
    })
    return table


def category_trends(context: AssetExecutionContext, reviews_fact: TableChunks) -> pa.Table:
    parts = [trends.category_trends(chunk) for chunk in reviews_fact]
    table = pa.concat_tables(parts) if parts else tables.CATEGORY_TRENDS.schema.empty_table()
    record_months(context, table, lambda rows, month: {
        "volume_chart": MetadataValue.md(charts.markdown_image(charts.volume_chart(rows, month), f"Reviews per day, {month}")),
        "reviews": pc.sum(rows["reviews"]).as_py(),
        "categories": pc.count_distinct(rows["category"]).as_py(),
    })
    return table


def weather_effect(context: AssetExecutionContext, category_trends: TableChunks, climate: TableChunks) -> pa.Table:
    table = weather.weather_effect(category_trends.read_all(), (weather.daily_weather(chunk) for chunk in climate))
    record_months(context, table, lambda rows, month: {
        "weather_chart": MetadataValue.md(charts.markdown_image(charts.weather_chart(rows, month), f"Reviews vs. temperature, {month}")),
        "days_with_weather": pc.count_distinct(pc.filter(rows["review_date"], pc.greater(rows["stations"], 0))).as_py(),
    })
    return table


def weather_correlation(context: AssetExecutionContext, weather_effect: TableChunks) -> pa.Table:
    table = weather.weather_correlation(weather_effect.read_all())
    record_months(context, table, lambda rows, month: {"correlations": MetadataValue.md(correlation_markdown(rows))})
    return table


def correlation_markdown(rows: pa.Table) -> str:
    lines = ["| category | days | r(reviews, tmax) | r(reviews, tmin) | r(reviews, prcp) |", "|---|---:|---:|---:|---:|"]
    for r in rows.to_pylist():
        cells = [("n/a" if r[f"reviews_{m}_corr"] is None else f"{r[f'reviews_{m}_corr']:+.2f}") + f" ({r[f'{m}_days']} d)" for m in weather.MEASURES]
        lines.append(f"| {cell(r['category'])} | {r['days']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def columns(*names: str) -> dict:
    """An input of these columns of a daily table's days; a day never materialized (the stream writes
    only days with data) reads as no rows."""
    return {"columns": list(names), "allow_missing_partitions": True}


def analysis_assets(settings: Settings) -> list[AssetsDefinition]:
    def monthly(spec: tables.TableSpec) -> dict:
        return dict(
            partitions_def=analysis_months, group_name=groups.ANALYSIS, owners=groups.OWNERS,
            backfill_policy=BackfillPolicy.single_run(), retry_policy=TRANSIENT_RETRY,
            automation_condition=analysis_condition(), **writes_warehouse(settings, spec),
        )

    return [
        asset(
            **monthly(tables.PRODUCT_POPULARITY),
            ins={
                "reviews_fact": AssetIn(partition_mapping=WITH_MONTH_BEFORE, metadata=columns(*popularity.REVIEW_COLUMNS)),
                "products": AssetIn(metadata=columns(*popularity.PRODUCT_COLUMNS)),
            },
            description="Per product and month: reviews, mean rating, the Wilson lower bound of its 4-5★ share, its rank "
            "in its category by that bound, and the change from the month before. Chart: the month's top products.",
        )(product_popularity),
        asset(
            **monthly(tables.CATEGORY_TRENDS),
            ins={"reviews_fact": AssetIn(metadata=columns(*trends.REVIEW_COLUMNS))},
            description="Per category and day: review volume and the rating mix. Chart: the month's reviews per day by rating.",
        )(category_trends),
        asset(
            **monthly(tables.WEATHER_EFFECT),
            ins={"climate": AssetIn(metadata=columns(*weather.CLIMATE_COLUMNS))},
            description="Per category and day: review volume beside the day's weather, averaged over the stations that "
            "reported (a national signal: reviewers have no location). Chart: reviews against max temperature.",
        )(weather_effect),
        asset(
            **monthly(tables.WEATHER_CORRELATION),
            description="Per category and month: the correlation of daily reviews with max/min temperature and "
            "precipitation, with the days behind each (null under 3 days).",
        )(weather_correlation),
    ]
