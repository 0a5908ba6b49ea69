"""Review assets: landed_reviews -> users, products, datetime -> reviews_fact.

Each asset returns TableChunks: a range is produced a month of days at a time, so a backfill's
memory does not grow with its length. Metadata gathered along the way reaches the IO manager
through the chunks' summary.
"""

import time
from collections import Counter

from dagster import AssetExecutionContext, asset

from amzn_assets import tables
from amzn_assets.assets.reporting import histogram_markdown, landing_metadata, map_counting_unmatched, rate
from amzn_assets.chunks import TableChunks
from amzn_assets.partitions import daily_partitions, partition_days, single_run_backfill
from amzn_assets.resources import LandingZone
from amzn_assets.transforms import reviews as transform

COMMON = dict(partitions_def=daily_partitions, backfill_policy=single_run_backfill, group_name="reviews")


@asset(
    **COMMON,
    metadata=tables.LANDED_REVIEWS.as_metadata(),
    io_manager_key="staging_io_manager",
    description="Reviews landed from the upload area for each review day (first landed copy of a review wins).",
    kinds={"parquet"},
)
def landed_reviews(context: AssetExecutionContext, landing: LandingZone) -> TableChunks:
    context.add_output_metadata(landing_metadata(landing.lander().land_pending()))
    reader = landing.reader()
    stats = Counter()

    def read(days: list[str]):
        rows, duplicates = reader.reviews(days)
        stats["rows"] += rows.num_rows
        stats["duplicate_reviews_merged"] += duplicates
        return rows

    return TableChunks.by_days(context.partition_keys, tables.LANDED_REVIEW_SCHEMA, read, summary=lambda: dict(stats))


@asset(**COMMON, metadata=tables.USERS.as_metadata(), description="Reviewers seen each day; the table is their upsert by reviewer_id.")
def users(landed_reviews: TableChunks) -> TableChunks:
    return landed_reviews.map(transform.users, tables.USERS_SCHEMA)


@asset(**COMMON, metadata=tables.PRODUCTS.as_metadata(), description="Products reviewed each day, with their landed metadata; upserted by asin.")
def products(landed_reviews: TableChunks, landing: LandingZone) -> TableChunks:
    metadata = landing.reader().product_metadata()
    return map_counting_unmatched(
        landed_reviews, lambda chunk: transform.products(chunk, metadata), tables.PRODUCTS_SCHEMA,
        "has_metadata", "products_without_metadata",
    )


@asset(**COMMON, metadata=tables.DATETIME.as_metadata(), description="The calendar: one row per day.")
def datetime(context: AssetExecutionContext) -> TableChunks:
    return TableChunks.by_days(
        context.partition_keys, tables.DATETIME_SCHEMA, lambda days: transform.datetime_rows(partition_days(days))
    )


@asset(
    **COMMON,
    metadata=tables.REVIEWS_FACT.as_metadata(),
    deps=[users, products, datetime],
    description="One row per review: the fact table of the star schema.",
)
def reviews_fact(context: AssetExecutionContext, landed_reviews: TableChunks) -> TableChunks:
    started = time.perf_counter()
    ratings: Counter = Counter()

    def fact(chunk):
        result = transform.reviews_fact(chunk)
        for rating, count in transform.rating_histogram(result).items():
            ratings[rating] += count
        return result

    def summary() -> dict:
        rows = sum(ratings.values())
        return {
            "rows": rows,
            "partitions": len(context.partition_keys),
            "rating_histogram": histogram_markdown({r: ratings[r] for r in range(1, 6)}),
            "rows_per_s": rate(rows, time.perf_counter() - started),
        }

    return landed_reviews.map(fact, tables.REVIEWS_FACT_SCHEMA, summary=summary)
