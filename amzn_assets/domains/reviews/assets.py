"""Review assets: landed_reviews -> users, products, datetime -> reviews_fact, and product_catalog
(unpartitioned: every landed product).

Each asset returns TableChunks built by amzn_assets.warehouse.star (the stream job builds the same
tables with the same functions): a range is produced a month of days at a time, so a backfill's
memory does not grow with its length. Metadata gathered along the way reaches the IO manager
through the chunks' summary.

The asset bodies are plain functions; review_assets(settings) makes them assets with what the
settings choose (backfill policy, freshness, the warehouse's kind and location).
"""

import pyarrow as pa
from dagster import AssetExecutionContext, AssetIn, AssetsDefinition, Output, asset

from amzn_assets import tables
from amzn_assets.chunks import TableChunks
from amzn_assets.settings import Settings
from amzn_assets.transforms import reviews as reviews_transform
from amzn_assets.warehouse import star
from amzn_assets.wiring import groups
from amzn_assets.domains.reviews.checks import freshness_evaluation, reviews_fact_check_specs
from amzn_assets.wiring.checks import checked_output
from amzn_assets.wiring.policies import stream_freshness
from amzn_assets.wiring.reporting import reader_through, record_landing
from amzn_assets.wiring.table_assets import daily, landed_from_uploads, whole_reference_table, writes_warehouse
from amzn_assets.wiring.resources import LandingZone


def landed_reviews(context: AssetExecutionContext, landing: LandingZone) -> TableChunks:
    record_landing(context, landing)
    reader = reader_through(context, landing, "reviews")
    return star.landed_reviews(reader, context.partition_keys)


def users(landed_reviews: TableChunks) -> TableChunks:
    return star.users(landed_reviews)


def products(context: AssetExecutionContext, landed_reviews: TableChunks, landing: LandingZone) -> TableChunks:
    reader = reader_through(context, landing, "products")
    return star.products(landed_reviews, reader.product_metadata())


def product_catalog(context: AssetExecutionContext, landing: LandingZone) -> pa.Table:
    reader = reader_through(context, landing, "products")
    return star.product_catalog(reader)


def datetime(context: AssetExecutionContext) -> TableChunks:
    return star.datetime(context.partition_keys)


def reviews_fact(context: AssetExecutionContext, landed_reviews: TableChunks):
    facts = star.reviews_fact(landed_reviews, len(context.partition_keys))
    yield from checked_output(context, "reviews_fact", Output(facts), freshness=freshness_evaluation)


def review_assets(settings: Settings) -> list[AssetsDefinition]:
    common = daily(settings, groups.REVIEWS)
    return [
        asset(
            **common,
            **landed_from_uploads(settings, tables.LANDED_REVIEWS),
            description="Reviews landed from the upload area for each review day (a review repeated exactly: the later copy wins).",
            freshness_policy=stream_freshness(settings),
        )(landed_reviews),
        asset(
            **common,
            **writes_warehouse(settings, tables.USERS),
            ins={"landed_reviews": AssetIn(metadata={"columns": list(reviews_transform.USERS_FROM)})},
            description="Reviewers seen each day; the table is their upsert by reviewer_id.",
        )(users),
        asset(
            **common,
            **writes_warehouse(settings, tables.PRODUCTS),
            ins={"landed_reviews": AssetIn(metadata={"columns": list(reviews_transform.PRODUCTS_FROM)})},
            description="Products reviewed each day, with their landed metadata; upserted by asin.",
        )(products),
        asset(
            **whole_reference_table(settings, groups.REVIEWS, tables.PRODUCT_CATALOG),
            description="Every product of the landed product metadata, reviewed or not; replaced whole when metadata lands. "
            "Queried as part of `products` (docs/data-model.md).",
        )(product_catalog),
        asset(**common, **writes_warehouse(settings, tables.DATETIME), description="The calendar: one row per day.")(datetime),
        asset(
            **common,
            **writes_warehouse(settings, tables.REVIEWS_FACT),
            deps=["users", "products", "datetime"],
            freshness_policy=stream_freshness(settings),
            check_specs=reviews_fact_check_specs(),
            required_resource_keys={"io_manager", "landing"},  # the checks read back through them
            description="One row per review: the fact table of the star schema.",
        )(reviews_fact),
    ]
