"""Review assets: landed_reviews -> users, products, datetime -> reviews_fact."""

import time

import pyarrow as pa
from dagster import AssetExecutionContext, asset

from amzn_assets import tables
from amzn_assets.assets.reporting import histogram_markdown, rate
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
def landed_reviews(context: AssetExecutionContext, landing: LandingZone) -> pa.Table:
    report = landing.lander().land_pending()
    started = time.perf_counter()
    rows, duplicates = landing.reader().reviews(context.partition_keys)
    context.add_output_metadata(
        {
            "rows": rows.num_rows,
            "duplicate_reviews_merged": duplicates,
            "files_landed_this_run": report.files_landed,
            "files_quarantined_this_run": report.files_quarantined,
            "records_quarantined_this_run": report.rejected_records,
            "landing_rows_per_s": rate(report.rows, report.seconds),
            "read_rows_per_s": rate(rows.num_rows, time.perf_counter() - started),
        }
    )
    return rows


@asset(**COMMON, metadata=tables.USERS.as_metadata(), description="Reviewers seen each day; the table is their upsert by reviewer_id.")
def users(landed_reviews: pa.Table) -> pa.Table:
    return transform.users(landed_reviews)


@asset(**COMMON, metadata=tables.PRODUCTS.as_metadata(), description="Products reviewed each day, with their landed metadata; upserted by asin.")
def products(context: AssetExecutionContext, landed_reviews: pa.Table, landing: LandingZone) -> pa.Table:
    result = transform.products(landed_reviews, landing.reader().product_metadata())
    missing = result.num_rows - sum(result["has_metadata"].to_pylist())
    context.add_output_metadata({"rows": result.num_rows, "products_without_metadata": missing})
    return result


@asset(**COMMON, metadata=tables.DATETIME.as_metadata(), description="The calendar: one row per day.")
def datetime(context: AssetExecutionContext) -> pa.Table:
    return transform.datetime_rows(partition_days(context.partition_keys))


@asset(
    **COMMON,
    metadata=tables.REVIEWS_FACT.as_metadata(),
    deps=[users, products, datetime],
    description="One row per review: the fact table of the star schema.",
)
def reviews_fact(context: AssetExecutionContext, landed_reviews: pa.Table) -> pa.Table:
    started = time.perf_counter()
    fact = transform.reviews_fact(landed_reviews)
    context.add_output_metadata(
        {
            "rows": fact.num_rows,
            "partitions": len(context.partition_keys),
            "rating_histogram": histogram_markdown(transform.rating_histogram(fact)),
            "rows_per_s": rate(fact.num_rows, time.perf_counter() - started),
        }
    )
    return fact
